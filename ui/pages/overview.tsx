import { useEffect } from "preact/hooks";
import { api, listAll } from "../api.ts";
import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { useLoad } from "../components/use-load.ts";
import { describeEvent } from "../event-text.ts";
import { timeAgo } from "../format.ts";
import { onLiveEvent, recentEvents } from "../live.ts";
import type { Agent, AgentState, OpenAlert, Rollout } from "../types.ts";
import { loadWorkspaces, type WorkspaceChoice } from "../workspaces.ts";

interface Fleet {
  counts: Record<AgentState, number>;
  agentNames: ReadonlyMap<string, string>;
  /** Per workspace; undefined when its rollout could not be read. */
  rollouts: { workspace: WorkspaceChoice; rollout: Rollout | undefined }[];
}

async function loadFleet(): Promise<Fleet> {
  const all = await loadWorkspaces();
  const [agents, rollouts] = await Promise.all([
    Promise.all(all.map((workspace) => listAll<Agent>(`/v1/workspaces/${workspace.id}/agents`))),
    Promise.all(
      all.map(async (workspace) => ({
        workspace,
        rollout: await api<Rollout>("GET", `/v1/workspaces/${workspace.id}/rollout`).catch(
          () => undefined,
        ),
      })),
    ),
  ]);
  const counts = { online: 0, offline: 0, degraded: 0 };
  for (const agent of agents.flat()) counts[agent.state]++;
  const agentNames = new Map(agents.flat().map((agent) => [agent.id, agent.name]));
  return { counts, agentNames, rollouts };
}

const loadAlerts = async () => (await api<{ data: OpenAlert[] }>("GET", "/v1/alerts")).data;

/** Events after which the counts or a rollout may read differently. */
const fleetChanges = /^(agent|config|virtual_host|workspace)\./;

export function OverviewPage() {
  const fleet = useLoad(loadFleet, []);
  const alerts = useLoad(loadAlerts, []);
  const reloadFleet = fleet.reload;
  const reloadAlerts = alerts.reload;
  useEffect(
    () =>
      onLiveEvent((event) => {
        if (fleetChanges.test(event.type)) void reloadFleet();
        if (event.type.startsWith("health.alert")) void reloadAlerts();
      }),
    [reloadFleet, reloadAlerts],
  );
  const counts = fleet.data?.counts;
  const stats: [string, number | undefined][] = [
    ["Online", counts?.online],
    ["Offline", counts?.offline],
    ["Degraded", counts?.degraded],
    ["Open alerts", alerts.data?.length],
  ];
  const problems = [fleet.problem, alerts.problem].flatMap((problem) =>
    problem ? [problem.message] : [],
  );
  return (
    <section>
      <Heading>Overview</Heading>
      <FormAlert messages={problems} />
      <div class="stats">
        {stats.map(([label, value]) => (
          <figure key={label} class="stat">
            <figcaption>{label}</figcaption>
            <strong>{value ?? "…"}</strong>
          </figure>
        ))}
      </div>
      <AlertList alerts={alerts.data} agentNames={fleet.data?.agentNames} />
      <RolloutList rollouts={fleet.data?.rollouts} />
      <section aria-labelledby="recent-heading">
        <h2 id="recent-heading">Recent events</h2>
        {recentEvents.value.length === 0 ? (
          <p>Nothing has happened since this page opened.</p>
        ) : (
          <ul class="events">
            {recentEvents.value.map((event) => (
              <li key={event.seq}>
                <time dateTime={event.timestamp}>
                  {new Date(event.timestamp).toLocaleTimeString()}
                </time>{" "}
                <strong>{event.type}</strong> {describeEvent(event.data)}
              </li>
            ))}
          </ul>
        )}
      </section>
    </section>
  );
}

function AlertList(props: {
  alerts: readonly OpenAlert[] | undefined;
  agentNames: ReadonlyMap<string, string> | undefined;
}) {
  const { alerts } = props;
  return (
    <section aria-labelledby="alerts-heading">
      <h2 id="alerts-heading">Alerts</h2>
      {alerts === undefined && <p>Loading…</p>}
      {alerts?.length === 0 && <p>No open alerts.</p>}
      {alerts && alerts.length > 0 && (
        <ul class="alerts" aria-labelledby="alerts-heading">
          {alerts.map((alert) => (
            <li key={alert.alert_id}>
              <span class={`badge severity-${alert.severity}`}>{alert.severity}</span>{" "}
              {alert.message} on{" "}
              <a href={`/agents/${alert.agent_id}`}>
                {props.agentNames?.get(alert.agent_id) ?? alert.agent_id}
              </a>
              , raised <time dateTime={alert.since}>{timeAgo(alert.since)}</time>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** "1 of 2 agents applied, 1 pending" and so on: only the parts that are not zero. */
function rolloutText(rollout: Rollout): string {
  const extra = [
    [rollout.pending, "pending"],
    [rollout.failed, "failed"],
    [rollout.set_aside_hosts, rollout.set_aside_hosts === 1 ? "host set aside" : "hosts set aside"],
  ] as const;
  const parts = extra.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
  return [`${rollout.applied} of ${rollout.agents} agents applied`, ...parts].join(", ");
}

function RolloutList(props: { rollouts: Fleet["rollouts"] | undefined }) {
  return (
    <section aria-labelledby="rollout-heading">
      <h2 id="rollout-heading">Configuration rollout</h2>
      {props.rollouts === undefined ? (
        <p>Loading…</p>
      ) : (
        <ul class="rollouts" aria-labelledby="rollout-heading">
          {props.rollouts.map(({ workspace, rollout }) => (
            <li key={workspace.id}>
              <strong>{workspace.label}</strong>:{" "}
              {rollout ? rolloutText(rollout) : "rollout state unavailable"}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
