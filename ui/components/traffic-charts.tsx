import { useId } from "preact/hooks";
import { api } from "../api.ts";
import { bytes } from "../format.ts";
import { type MetricWindow, metricsApiQuery, metricWindows } from "../observe-filters.ts";
import type { MetricsBucket, TrafficMetrics } from "../types.ts";
import { BarChart, type ChartBucket } from "./chart.tsx";
import { FormAlert } from "./field.tsx";
import { useLoad } from "./use-load.ts";

const count = (value: number) => String(value);

function bucketLabel(bucket: MetricsBucket, window: MetricWindow): string {
  const at = new Date(bucket.from);
  return window === "1h"
    ? at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : at.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
}

/**
 * The traffic of a workspace or an agent (`path` is its metrics endpoint) over a window the
 * person picks: totals, then requests and errors, and bytes in and out, per bucket.
 */
export function TrafficCharts(props: {
  path: string;
  window: MetricWindow;
  onWindow: (window: MetricWindow) => void;
}) {
  const id = useId();
  const {
    data: loaded,
    problem,
    reload,
  } = useLoad(async () => {
    const { path, window } = props;
    const metrics = await api<TrafficMetrics>(
      "GET",
      `${path}${metricsApiQuery(window, Date.now())}`,
    );
    return { window, metrics };
  }, [props.path, props.window]);
  // What is drawn is named by the window it was loaded for, not the one being loaded.
  const data = loaded?.metrics;
  const shownWindow = loaded?.window ?? props.window;
  const series = data?.series ?? [];
  const buckets: ChartBucket[] = series.map((bucket) => ({
    from: bucket.from,
    label: bucketLabel(bucket, shownWindow),
  }));
  const windowText = metricWindows[shownWindow].label.toLowerCase();
  return (
    <div class="traffic">
      <div class="actions">
        <div class="field">
          <label for={`${id}-window`}>Window</label>
          <select
            id={`${id}-window`}
            value={props.window}
            onChange={(event) => props.onWindow(event.currentTarget.value as MetricWindow)}
          >
            {Object.entries(metricWindows).map(([key, window]) => (
              <option key={key} value={key}>
                {window.label}
              </option>
            ))}
          </select>
        </div>
        <button type="button" class="refresh" onClick={() => void reload()}>
          Refresh
        </button>
      </div>
      <FormAlert messages={problem ? [problem.message] : []} />
      {!data && !problem && <p>Loading…</p>}
      {data && (
        <>
          <dl class="facts">
            <div>
              <dt>Requests</dt>
              <dd>{data.requests_total}</dd>
            </div>
            <div>
              <dt>Error rate</dt>
              <dd>{(data.error_rate * 100).toFixed(1)} %</dd>
            </div>
            <div>
              <dt>Bytes in / out</dt>
              <dd>
                {bytes(data.bandwidth.in_bytes)} / {bytes(data.bandwidth.out_bytes)}
              </dd>
            </div>
            <div>
              <dt>Status codes</dt>
              <dd>
                {Object.entries(data.status_codes)
                  .map(([status, n]) => `${status}: ${n}`)
                  .join(", ")}
              </dd>
            </div>
          </dl>
          <BarChart
            title={`Requests and errors, ${windowText}`}
            buckets={buckets}
            format={count}
            series={[
              { name: "Requests", tone: "accent", values: series.map((b) => b.requests_total) },
              { name: "Errors", tone: "danger", values: series.map((b) => b.errors_total) },
            ]}
          />
          <BarChart
            title={`Bytes in and out, ${windowText}`}
            buckets={buckets}
            format={bytes}
            series={[
              { name: "In", tone: "ok", values: series.map((b) => b.in_bytes) },
              { name: "Out", tone: "warn", values: series.map((b) => b.out_bytes) },
            ]}
          />
        </>
      )}
    </div>
  );
}
