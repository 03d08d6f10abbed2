import { DroverError, isDroverError } from "../errors/index.ts";
import { noChanges } from "../events/index.ts";
import type { AgentState } from "../store/index.ts";
import { agentPayload, getAgent, markAgentConnected, markAgentDisconnected } from "./agents.ts";
import type { FleetDeps } from "./deps.ts";
import { type AgentHealth, checkHealth, stateFromHealth } from "./health.ts";
import { evaluateAlerts } from "./health-alerts.ts";

/** One open ReportHealth stream of one agent. */
export interface HealthStream {
  record(health: AgentHealth): Promise<void>;
  /** Marks the agent offline if this was its last open stream. */
  close(): Promise<void>;
}

/**
 * Tracks open streams per agent. An agent that reconnects may open its new
 * stream before the old one is seen to close; only the last one closing makes
 * it offline.
 */
export function createHealthStreams(deps: FleetDeps) {
  const openStreams = new Map<string, number>();

  return async function openHealthStream(id: string): Promise<HealthStream> {
    const agent = await getAgent(deps, id);
    const count = (openStreams.get(id) ?? 0) + 1;
    openStreams.set(id, count);
    if (count === 1) await markAgentConnected(deps, agent);
    // The stream remembers the state it last wrote, so a report is one UPDATE.
    let state: AgentState = "online";
    const firing = new Set<string>();
    let closed = false;
    return {
      async record(health) {
        checkHealth(health);
        const next = stateFromHealth(health);
        try {
          await deps.store.agents.updateHealth(id, {
            lastSeenAt: deps.clock.now(),
            lastHealth: health,
            state: next,
          });
        } catch (error) {
          if (isDroverError(error) && error.code === "not_found") {
            throw new DroverError("unauthenticated", "this agent is no longer part of the fleet");
          }
          throw error;
        }
        for (const change of evaluateAlerts(firing, health)) {
          if (change.state === "firing") firing.add(change.metric);
          else firing.delete(change.metric);
          await deps.events.publish({
            type: "health.alert",
            subjectId: id,
            data: {
              ...agentPayload(agent),
              alert_id: `${id}/${change.metric}`,
              severity: "warning",
              state: change.state,
              message: change.message,
              metric: change.metric,
              value: change.value,
            },
            changes: noChanges,
          });
        }
        if (next !== state) {
          state = next;
          const failed = health.checks.filter((check) => !check.ok).map((check) => check.name);
          await deps.events.publish({
            type: "agent.updated",
            subjectId: id,
            data: { ...agentPayload(agent), state, failed },
            // Health moves no configuration.
            changes: noChanges,
          });
        }
      },
      async close() {
        if (closed) return;
        closed = true;
        const left = (openStreams.get(id) ?? 1) - 1;
        if (left > 0) {
          openStreams.set(id, left);
          return;
        }
        openStreams.delete(id);
        const current = await deps.store.agents.get(id);
        if (current) await markAgentDisconnected(deps, current, "stream closed");
      },
    };
  };
}
