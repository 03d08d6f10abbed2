import { api } from "../api.ts";
import { useLoad } from "./use-load.ts";

interface ReportedMetric {
  name: string;
  value: number;
  type: "gauge" | "counter" | "histogram";
  labels: Record<string, string>;
  timestamp: string;
}

interface AgentLogEntry {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  fields: Record<string, string>;
  timestamp: string;
}

interface ReportedView {
  /** The newest sample of each metric name and label set. */
  metrics: ReportedMetric[];
  logs: AgentLogEntry[];
}

const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(", ");

async function loadReported(agentId: string): Promise<ReportedView> {
  const base = `/v1/agents/${encodeURIComponent(agentId)}`;
  const [metrics, logs] = await Promise.all([
    api<{ data: ReportedMetric[] }>("GET", `${base}/reported-metrics?limit=200`),
    api<{ data: AgentLogEntry[] }>("GET", `${base}/logs?level=warn&limit=20`),
  ]);
  // Newest first from the API: the first of each series is its latest value.
  const latest = new Map<string, ReportedMetric>();
  for (const metric of metrics.data) {
    const key = `${metric.name}{${labelText(metric.labels)}}`;
    if (!latest.has(key)) latest.set(key, metric);
  }
  const sorted = [...latest.values()].sort((a, b) => a.name.localeCompare(b.name));
  return { metrics: sorted, logs: logs.data };
}

/**
 * What the agent pushes of its own: its latest metrics and its warnings and errors. Samples
 * arrive every heartbeat without an event each, so this section refreshes on request.
 */
export function Reported(props: { agentId: string }) {
  const { data, reload } = useLoad(() => loadReported(props.agentId), [props.agentId]);
  return (
    <section aria-labelledby="reported-heading">
      <h2 id="reported-heading">Reported by the agent</h2>
      <button type="button" onClick={() => void reload()}>
        Refresh
      </button>
      {!data ? (
        <p>Loading…</p>
      ) : (
        <>
          {data.metrics.length === 0 ? (
            <p>No metrics reported in the last 24 hours.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption>Latest metrics</caption>
                <thead>
                  <tr>
                    <th scope="col">Metric</th>
                    <th scope="col">Labels</th>
                    <th scope="col">Type</th>
                    <th scope="col">Value</th>
                  </tr>
                </thead>
                <tbody>
                  {data.metrics.map((metric) => (
                    <tr key={`${metric.name}{${labelText(metric.labels)}}`}>
                      <td>{metric.name}</td>
                      <td>{labelText(metric.labels)}</td>
                      <td>{metric.type}</td>
                      <td>{metric.value.toLocaleString()}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {data.logs.length === 0 ? (
            <p>No warnings or errors logged in the last 24 hours.</p>
          ) : (
            <ul class="agent-log">
              {data.logs.map((entry) => (
                <li key={`${entry.timestamp}${entry.message}`}>
                  {new Date(entry.timestamp).toLocaleTimeString()} {entry.level}: {entry.message}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
