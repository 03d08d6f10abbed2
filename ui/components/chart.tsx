/** One named row of figures, one per bucket; `tone` picks its colour class. */
export interface ChartSeries {
  name: string;
  values: readonly number[];
  tone: "accent" | "danger" | "ok" | "warn";
}

/** A bucket's identity (its start) and how a person reads it. */
export interface ChartBucket {
  from: string;
  label: string;
}

/** The plot's own coordinates; the SVG stretches them to the width it is given. */
const plot = { width: 600, height: 160 } as const;

/**
 * A grouped bar chart drawn in SVG (no chart library): one group per bucket, one bar per
 * series, the largest value and the first and last bucket labelled as its axes. The SVG is
 * an image named by `title`; the same figures follow in a table for screen readers.
 */
export function BarChart(props: {
  title: string;
  buckets: readonly ChartBucket[];
  series: readonly ChartSeries[];
  format: (value: number) => string;
}) {
  const { buckets, series } = props;
  const max = Math.max(0, ...series.flatMap((row) => row.values));
  const slot = plot.width / Math.max(1, buckets.length);
  const bar = (slot * 0.8) / Math.max(1, series.length);
  const heightOf = (value: number) => (max > 0 ? (value / max) * plot.height : 0);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <ul class="legend" aria-hidden="true">
        {series.map((row) => (
          <li key={row.name}>
            <span class={`swatch ${row.tone}`} /> {row.name}
          </li>
        ))}
      </ul>
      <div class="chart-area">
        <span class="y-max" aria-hidden="true">
          {props.format(max)}
        </span>
        <svg
          role="img"
          viewBox={`0 0 ${plot.width} ${plot.height}`}
          preserveAspectRatio="none"
          class="plot"
        >
          <title>{props.title}</title>
          <line class="axis" x1="0" y1={plot.height} x2={plot.width} y2={plot.height} />
          {buckets.map((bucket, index) =>
            series.map((row, nth) => {
              const value = row.values[index] ?? 0;
              const height = heightOf(value);
              return (
                <rect
                  key={`${bucket.from}-${row.name}`}
                  class={`bar ${row.tone}`}
                  data-value={value}
                  x={index * slot + slot * 0.1 + nth * bar}
                  y={plot.height - height}
                  width={bar}
                  height={height}
                />
              );
            }),
          )}
        </svg>
        <span class="x-first" aria-hidden="true">
          {buckets[0]?.label ?? ""}
        </span>
        <span class="x-last" aria-hidden="true">
          {buckets[buckets.length - 1]?.label ?? ""}
        </span>
      </div>
      {/* In a div: a table grows to its content whatever height it is given. */}
      <div class="visually-hidden">
        <table>
          <caption>{props.title}</caption>
          <thead>
            <tr>
              <th scope="col">Period</th>
              {series.map((row) => (
                <th key={row.name} scope="col">
                  {row.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {buckets.map((bucket, index) => (
              <tr key={bucket.from}>
                <th scope="row">{bucket.label}</th>
                {series.map((row) => (
                  <td key={row.name}>{props.format(row.values[index] ?? 0)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
