/**
 * The observability pages' URL queries (access logs, metrics, events) and the small pure
 * rules they apply: a reload or a shared link shows the same view.
 */

/** Access log filters; `from`/`to` are ISO instants, the rest as typed. */
export interface AccessLogFilters {
  workspace: string;
  from: string;
  to: string;
  host: string;
  status: string;
  limit: string;
}

const accessLogKeys = ["workspace", "from", "to", "host", "status", "limit"] as const;

export function decodeAccessLogFilters(search: string): AccessLogFilters {
  const query = new URLSearchParams(search);
  const filters = {} as AccessLogFilters;
  for (const key of accessLogKeys) filters[key] = query.get(key) ?? "";
  return filters;
}

/** `?workspace=…&host=…` with empty fields left out; "" when nothing is set. */
export function encodeQuery(fields: Readonly<Record<string, string>>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) if (value) query.set(key, value);
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** The REST query of `GET /v1/workspaces/{id}/access-logs`. */
export function accessLogApiQuery(filters: AccessLogFilters): string {
  return encodeQuery({
    from: filters.from,
    to: filters.to,
    status_code: filters.status,
    host: filters.host.trim(),
    limit: filters.limit || "100",
  });
}

/** A `datetime-local` value (the browser's local time) from an ISO instant; "" stays "". */
export function toLocalInput(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) return "";
  const local = new Date(time - new Date(time).getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** The ISO instant of a `datetime-local` value; "" for an empty or unreadable one. */
export function fromLocalInput(value: string): string {
  const time = new Date(value).getTime();
  return value === "" || Number.isNaN(time) ? "" : new Date(time).toISOString();
}

/** The metrics windows offered, each with the bucket size that keeps its chart readable. */
export const metricWindows = {
  "1h": { label: "Last hour", ms: 3_600_000, interval: "1m" },
  "24h": { label: "Last 24 hours", ms: 86_400_000, interval: "1h" },
  "7d": { label: "Last 7 days", ms: 604_800_000, interval: "6h" },
} as const;

export type MetricWindow = keyof typeof metricWindows;

export function parseMetricWindow(text: string | null): MetricWindow {
  return text === "1h" || text === "7d" ? text : "24h";
}

/** `?from&to&interval` for a metrics call over `window` ending at `now`. */
export function metricsApiQuery(window: MetricWindow, now: number): string {
  const { ms, interval } = metricWindows[window];
  return encodeQuery({
    from: new Date(now - ms).toISOString(),
    to: new Date(now).toISOString(),
    interval,
  });
}

/** Event filters: comma-separated type patterns (`agent.*`) and a workspace id. */
export interface EventFilters {
  types: string;
  workspace: string;
}

export function decodeEventFilters(search: string): EventFilters {
  const query = new URLSearchParams(search);
  return { types: query.get("types") ?? "", workspace: query.get("workspace") ?? "" };
}

/** The patterns of a `types` text, trimmed, empty ones dropped. */
export function typePatterns(text: string): string[] {
  return text
    .split(",")
    .map((pattern) => pattern.trim())
    .filter((pattern) => pattern !== "");
}

/** As the server reads `types`: `agent.*` is every type starting `agent.`, else exact; none: all. */
export function matchesTypes(type: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((pattern) =>
    pattern.endsWith(".*") ? type.startsWith(pattern.slice(0, -1)) : type === pattern,
  );
}
