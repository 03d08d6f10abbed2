import { useEffect, useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import { bytes } from "../format.ts";
import { nodeProblemText, throttlingText, uptimeText } from "../node-format.ts";
import type { NodeHealth, SystemMetrics } from "../node-types.ts";
import { FormAlert } from "./field.tsx";

/** How long after one answer the section asks the agent again. */
const metricsRefreshMs = 5_000;

const usage = (percent: number, used: number, total: number) =>
  `${Math.round(percent)} % (${bytes(used)} of ${bytes(total)})`;

function facts(metrics: SystemMetrics): [string, string][] {
  const rows: [string, string][] = [
    ["CPU", `${Math.round(metrics.cpu_usage)} % of ${metrics.cpu_count} cores`],
    ["Memory", usage(metrics.memory_usage, metrics.memory_used_bytes, metrics.memory_total_bytes)],
    ["Disk", usage(metrics.disk_usage, metrics.disk_used_bytes, metrics.disk_total_bytes)],
    ["Load", metrics.load_average.map((load) => load.toFixed(2)).join(" ")],
    ["Uptime", uptimeText(metrics.uptime_seconds)],
    ["Hostname", metrics.hostname],
  ];
  for (const reading of metrics.temperatures)
    rows.push([`Temperature ${reading.type || reading.zone}`, `${reading.celsius.toFixed(1)} °C`]);
  if (metrics.throttling) rows.push(["Throttling", throttlingText(metrics.throttling)]);
  for (const link of metrics.network)
    rows.push([
      `Network ${link.name}`,
      `received ${bytes(link.rx_bytes)}, sent ${bytes(link.tx_bytes)}, ${link.rx_errors + link.tx_errors} errors`,
    ]);
  return rows;
}

/** Fresh figures from the agent every few seconds while the page is open, and a ping. */
export function MachineMetrics(props: { agentId: string }) {
  const [metrics, setMetrics] = useState<SystemMetrics | undefined>(undefined);
  const [problem, setProblem] = useState("");
  const [ping, setPing] = useState("");
  const base = `/v1/agents/${encodeURIComponent(props.agentId)}`;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    // The next request waits for this answer: a slow agent is never asked twice at once.
    const load = async () => {
      try {
        const answer = await api<SystemMetrics>("GET", `${base}/system-metrics`);
        if (stopped) return;
        setMetrics(answer);
        setProblem("");
      } catch (error) {
        if (!stopped) setProblem(nodeProblemText(problemOf(error)));
      }
      if (!stopped) timer = setTimeout(load, metricsRefreshMs);
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [base]);
  async function sendPing() {
    setPing("Pinging…");
    try {
      const health = await api<NodeHealth>("GET", `${base}/health-check`);
      setPing(
        `${health.status} in ${Math.round(health.latency_ms)} ms (agent ${health.version}, up ${uptimeText(health.uptime_seconds)})`,
      );
    } catch (error) {
      setPing(nodeProblemText(problemOf(error)));
    }
  }
  return (
    <section aria-labelledby="machine-metrics-heading">
      <h3 id="machine-metrics-heading">System metrics</h3>
      {problem && <FormAlert messages={[problem]} />}
      {!metrics ? (
        !problem && <p>Loading…</p>
      ) : (
        <dl class="facts">
          {facts(metrics).map(([name, value]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>{value}</dd>
            </div>
          ))}
          <div>
            <dt>Measured</dt>
            <dd>
              <time dateTime={metrics.timestamp}>
                {new Date(metrics.timestamp).toLocaleTimeString()}
              </time>
            </dd>
          </div>
        </dl>
      )}
      <div class="actions">
        <button type="button" onClick={() => void sendPing()}>
          Ping
        </button>
        <span role="status">{ping}</span>
      </div>
    </section>
  );
}
