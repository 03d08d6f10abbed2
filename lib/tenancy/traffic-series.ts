import { invalidField } from "../errors/index.ts";
import type { AccessLogFilter, AccessLogStats, Store } from "../store/index.ts";
import type { TimeWindow } from "./traffic.ts";

/** Bucket widths a metrics series may use, by name. */
export const metricsIntervals = {
  "1m": 60_000,
  "5m": 300_000,
  "15m": 900_000,
  "1h": 3_600_000,
  "6h": 21_600_000,
  "1d": 86_400_000,
} as const;

export type MetricsInterval = keyof typeof metricsIntervals;

/** A window holds at most this many buckets: a chart's worth, and a bounded answer. */
export const MAX_SERIES_BUCKETS = 500;

/** Traffic over one bucket [from, to) of a series. */
export interface TrafficBucket {
  from: Date;
  to: Date;
  requestsTotal: number;
  errorsTotal: number;
  inBytes: number;
  outBytes: number;
  statusCodes: { "2xx": number; "3xx": number; "4xx": number; "5xx": number };
}

export function isMetricsInterval(value: string): value is MetricsInterval {
  return Object.hasOwn(metricsIntervals, value);
}

/** The interval's width; 422 naming `interval` when it is unknown or cuts the window too fine. */
export function checkInterval(interval: string, window: TimeWindow): number {
  if (!isMetricsInterval(interval)) {
    throw invalidField("interval", `must be one of ${Object.keys(metricsIntervals).join(", ")}`);
  }
  const width = metricsIntervals[interval];
  const buckets = Math.ceil((window.to.getTime() - window.from.getTime()) / width);
  if (buckets > MAX_SERIES_BUCKETS) {
    throw invalidField(
      "interval",
      `${interval} cuts the window into ${buckets} buckets; at most ${MAX_SERIES_BUCKETS}: choose a longer interval or a shorter window`,
    );
  }
  return width;
}

function bucketOf(from: Date, to: Date, stats: AccessLogStats | undefined): TrafficBucket {
  return {
    from,
    to,
    requestsTotal: stats?.total ?? 0,
    // As error_rate counts errors: the server's (5xx).
    errorsTotal: stats?.status5xx ?? 0,
    inBytes: stats?.requestBytes ?? 0,
    outBytes: stats?.bodyBytesSent ?? 0,
    statusCodes: {
      "2xx": stats?.status2xx ?? 0,
      "3xx": stats?.status3xx ?? 0,
      "4xx": stats?.status4xx ?? 0,
      "5xx": stats?.status5xx ?? 0,
    },
  };
}

/**
 * Every bucket of the window, empty ones included, from one GROUP BY over the
 * access logs; the last bucket ends with the window, so the buckets sum to the
 * window's totals.
 */
export async function trafficSeries(
  store: Store,
  filter: Omit<AccessLogFilter, "from" | "to">,
  window: TimeWindow,
  widthMs: number,
): Promise<TrafficBucket[]> {
  const rows = await store.accessLogs.series({ ...filter, ...window }, widthMs);
  const byBucket = new Map(rows.map((row) => [row.bucket, row]));
  const start = window.from.getTime();
  const end = window.to.getTime();
  const series: TrafficBucket[] = [];
  for (let index = 0; start + index * widthMs < end; index++) {
    const from = new Date(start + index * widthMs);
    const to = new Date(Math.min(start + (index + 1) * widthMs, end));
    series.push(bucketOf(from, to, byBucket.get(index)));
  }
  return series;
}
