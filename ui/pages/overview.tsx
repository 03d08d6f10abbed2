import { useEffect } from "preact/hooks";
import { listAll } from "../api.ts";
import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { useLoad } from "../components/use-load.ts";
import { onLiveEvent, openAlerts, recentEvents } from "../live.ts";
import type { Agent } from "../types.ts";
import { loadWorkspaces } from "../workspaces.ts";

async function loadCounts(): Promise<Record<Agent["state"], number>> {
  const all = await loadWorkspaces();
  const agents = (
    await Promise.all(
      all.map((workspace) => listAll<Agent>(`/v1/workspaces/${workspace.id}/agents`)),
    )
  ).flat();
  const counts = { online: 0, offline: 0, degraded: 0 };
  for (const agent of agents) counts[agent.state]++;
  return counts;
}

function describe(data: Record<string, unknown>): string {
  const parts = ["name", "hostname", "reason", "message", "state", "domain"]
    .map((key) => data[key])
    .filter((value): value is string => typeof value === "string" && value !== "");
  return parts.join(" · ");
}

export function OverviewPage() {
  const { data: counts, problem, reload } = useLoad(loadCounts, []);
  useEffect(
    () => onLiveEvent((event) => event.type.startsWith("agent.") && void reload()),
    [reload],
  );
  const stats: [string, number | undefined][] = [
    ["Online", counts?.online],
    ["Offline", counts?.offline],
    ["Degraded", counts?.degraded],
    ["Open alerts", openAlerts.value.size],
  ];
  return (
    <section>
      <Heading>Overview</Heading>
      <FormAlert messages={problem ? [problem.message] : []} />
      <div class="stats">
        {stats.map(([label, value]) => (
          <figure key={label} class="stat">
            <figcaption>{label}</figcaption>
            <strong>{value ?? "…"}</strong>
          </figure>
        ))}
      </div>
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
                <strong>{event.type}</strong> {describe(event.data)}
              </li>
            ))}
          </ul>
        )}
      </section>
    </section>
  );
}
