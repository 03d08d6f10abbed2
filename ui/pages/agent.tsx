import { useEffect, useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import { Commands } from "../components/agent-commands.tsx";
import { Configuration } from "../components/agent-configuration.tsx";
import { Reported } from "../components/agent-reported.tsx";
import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { Machine } from "../components/machine.tsx";
import { TrafficCharts } from "../components/traffic-charts.tsx";
import { useLoad } from "../components/use-load.ts";
import { formatLabels, parseLabels } from "../filters.ts";
import { percent, timeAgo } from "../format.ts";
import { onLiveEvent } from "../live.ts";
import type { MetricWindow } from "../observe-filters.ts";
import type { AccessLog, Agent, AgentConfig } from "../types.ts";
import { loadWorkspaces, workspaceLabel } from "../workspaces.ts";

interface AgentView {
  agent: Agent;
  config: AgentConfig | undefined;
  logs: AccessLog[];
}

async function loadAgent(id: string): Promise<AgentView> {
  void loadWorkspaces();
  const agent = await api<Agent>("GET", `/v1/agents/${id}`);
  const [config, logs] = await Promise.all([
    api<AgentConfig>("GET", `/v1/agents/${id}/config`).catch(() => undefined),
    api<{ data: AccessLog[] }>(
      "GET",
      `/v1/workspaces/${agent.workspace_id}/access-logs?agent_id=${encodeURIComponent(id)}&limit=20`,
    )
      .then((answer) => answer.data)
      .catch(() => []),
  ]);
  return { agent, config, logs };
}

/** How often the page asks for the agent's latest health report. */
const healthRefreshMs = 5_000;

export function AgentPage(props: { id: string }) {
  const { data, problem, reload } = useLoad(() => loadAgent(props.id), [props.id]);
  // Health reports bring no events (only state changes do): follow them by asking again.
  useEffect(() => {
    const timer = setInterval(() => void reload(), healthRefreshMs);
    return () => clearInterval(timer);
  }, [reload]);
  useEffect(
    () =>
      onLiveEvent((event) => {
        if (event.data.agent_id === props.id || event.subject_id === props.id) void reload();
      }),
    [props.id, reload],
  );
  if (problem && !data) {
    return (
      <section>
        <Heading>Agent</Heading>
        <FormAlert messages={[problem.message]} />
      </section>
    );
  }
  if (!data) return <p>Loading…</p>;
  const { agent, config, logs } = data;
  return (
    <section class="agent">
      <Heading>{agent.name}</Heading>
      <Identity agent={agent} />
      <Labels agent={agent} onSaved={reload} />
      <Health agent={agent} />
      <Machine agent={agent} />
      <Configuration config={config} />
      <Commands agentId={agent.id} />
      <Traffic agentId={agent.id} />
      <Reported agentId={agent.id} />
      <section aria-labelledby="logs-heading">
        <h2 id="logs-heading">Recent access logs</h2>
        {logs.length === 0 ? (
          <p>No requests logged yet.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Recent access logs</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Host</th>
                  <th scope="col">Request</th>
                  <th scope="col">Status</th>
                  <th scope="col">Time taken</th>
                </tr>
              </thead>
              <tbody>
                {logs.map((log) => (
                  <tr key={log.id}>
                    <td>{new Date(log.timestamp).toLocaleTimeString()}</td>
                    <td>{log.host}</td>
                    <td>
                      {log.method} {log.uri}
                    </td>
                    <td>{log.status}</td>
                    <td>{log.response_time_ms} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </section>
  );
}

function Traffic(props: { agentId: string }) {
  const [window, setWindow] = useState<MetricWindow>("24h");
  return (
    <section aria-labelledby="traffic-heading">
      <h2 id="traffic-heading">Traffic</h2>
      <TrafficCharts
        path={`/v1/agents/${props.agentId}/metrics`}
        window={window}
        onWindow={setWindow}
      />
    </section>
  );
}

function Identity(props: { agent: Agent }) {
  const { agent } = props;
  const rows: [string, string][] = [
    ["ID", agent.id],
    ["State", agent.state],
    ["Hostname", agent.hostname],
    ["Address", agent.ip_address],
    ["Workspace", workspaceLabel(agent.workspace_id)],
    ["Version", agent.version],
    ["Deployment", agent.deployment_mode],
    ["Last seen", timeAgo(agent.last_seen_at)],
    ["Claimed labels", formatLabels(agent.claimed_labels) || "none"],
  ];
  return (
    <section aria-labelledby="identity-heading">
      <h2 id="identity-heading">Identity</h2>
      <dl class="facts">
        {rows.map(([name, value]) => (
          <div key={name}>
            <dt>{name}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function Labels(props: { agent: Agent; onSaved: () => void }) {
  const [text, setText] = useState(formatLabels(props.agent.labels));
  const [errors, setErrors] = useState<string[]>([]);
  const [saved, setSaved] = useState("");
  return (
    <section aria-labelledby="labels-heading">
      <h2 id="labels-heading">Labels</h2>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const parsed = parseLabels(text);
          if ("error" in parsed) return setErrors([parsed.error]);
          try {
            await api("PATCH", `/v1/agents/${props.agent.id}`, { labels: parsed.labels });
            setErrors([]);
            setSaved("Labels saved");
            props.onSaved();
          } catch (error) {
            const problem = problemOf(error);
            setErrors([problem.message, ...problem.details.map((detail) => detail.message)]);
          }
        }}
      >
        <div class="field">
          <label for="agent-labels">Labels (key=value, comma separated)</label>
          <input
            id="agent-labels"
            value={text}
            onInput={(event) => setText(event.currentTarget.value)}
          />
        </div>
        <FormAlert messages={errors} />
        <button type="submit">Save labels</button> <span aria-live="polite">{saved}</span>
      </form>
    </section>
  );
}

function Health(props: { agent: Agent }) {
  const health = props.agent.health;
  return (
    <section aria-labelledby="health-heading">
      <h2 id="health-heading">Health</h2>
      {!health ? (
        <p>No health report yet.</p>
      ) : (
        <>
          <dl class="facts">
            <div>
              <dt>CPU</dt>
              <dd>{Math.round(health.cpu_percent)} %</dd>
            </div>
            <div>
              <dt>Memory</dt>
              <dd>{percent(health.memory_used_mb, health.memory_total_mb)}</dd>
            </div>
            <div>
              <dt>Disk</dt>
              <dd>{percent(health.disk_used_mb, health.disk_total_mb)}</dd>
            </div>
            <div>
              <dt>Load</dt>
              <dd>{health.load_average.map((load) => load.toFixed(2)).join(" ")}</dd>
            </div>
            <div>
              <dt>nginx</dt>
              <dd>
                {health.nginx_status}, {health.active_connections} connections,{" "}
                {health.requests_per_second.toFixed(1)} req/s
              </dd>
            </div>
            <div>
              <dt>Reported</dt>
              <dd>
                <time dateTime={health.observed_at}>{timeAgo(health.observed_at)}</time>
              </dd>
            </div>
          </dl>
          {health.checks.some((check) => !check.ok) && (
            <ul class="checks">
              {health.checks
                .filter((check) => !check.ok)
                .map((check) => (
                  <li key={check.name}>
                    {check.name}: {check.message}
                  </li>
                ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
