import { DroverError, isDroverError } from "../errors/index.ts";
import { noChanges, type PublishInput } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import type { AgentRow, AgentState, HeartbeatRow } from "../store/index.ts";
import { type AgentAlertChange, agentAlertChanges } from "./agent-alerts.ts";
import {
  agentPayload,
  getAgent,
  markAgentConnected,
  markAgentDisconnected,
  markAllAgentsOffline,
  markSilentAgentsOffline,
} from "./agents.ts";
import { createWorkspaceAlertRules } from "./alert-thresholds.ts";
import type { FleetDeps } from "./deps.ts";
import { type AgentHealth, checkHealth, stateFromHealth } from "./health.ts";
import { type AlertChange, evaluateAlerts } from "./health-alerts.ts";
import { type FiringAlert, type OpenAlert, openAlertsOf } from "./open-alerts.ts";
import { createPresence } from "./presence.ts";

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
  // Agents the sweep marked offline while a stream stayed open: their next report is a return.
  const sweptWhileOpen = new Set<string>();
  // Per agent, not per stream: an alert keeps its id when the agent reconnects.
  // Keyed by metric for the server's thresholds, by agentAlertKey for the agent's own alerts.
  const alerts = new Map<string, Map<string, FiringAlert>>();
  const alertRules = createWorkspaceAlertRules(deps);
  // Reports land in memory and are flushed in batches; state changes are written at once.
  const presence = createPresence(deps.store);

  /** The firing map changes before any await, so two streams of one agent never raise twice. */
  async function publishAlerts(id: string, agent: AgentRow, health: AgentHealth): Promise<void> {
    const rules = await alertRules.rulesFor(agent.workspaceId);
    const firing = alerts.get(id) ?? new Map<string, FiringAlert>();
    const events: PublishInput[] = [];
    const changes: Array<AlertChange | AgentAlertChange> = [
      ...evaluateAlerts(firing, health, rules),
      ...agentAlertChanges(firing, health.alerts ?? []),
    ];
    for (const change of changes) {
      const key = "key" in change ? change.key : change.metric;
      const current = firing.get(key);
      const alertId = current?.alertId ?? newId("alert");
      if (change.state === "firing")
        firing.set(key, {
          alertId,
          severity: change.severity,
          message: change.message,
          metric: change.metric,
          value: change.value,
          source: "source" in change ? change.source : "server",
          since: current?.since ?? deps.clock.now(),
        });
      else firing.delete(key);
      const data = {
        ...agentPayload(agent),
        alert_id: alertId,
        severity: change.severity,
        message: change.message,
        metric: change.metric,
        value: change.value,
        ...("source" in change ? { source: change.source } : {}),
      };
      events.push(
        change.state === "firing"
          ? {
              type: "health.alert",
              subjectId: id,
              data: { ...data, state: "firing" },
              changes: noChanges,
            }
          : { type: "health.alert_resolved", subjectId: id, data, changes: noChanges },
      );
    }
    if (firing.size > 0) alerts.set(id, firing);
    else alerts.delete(id);
    for (const event of events) await deps.events.publish(event);
  }

  let stopping = false;

  async function open(id: string): Promise<HealthStream> {
    if (stopping) throw new DroverError("unavailable", "the server is stopping");
    const agent = await getAgent(deps, id);
    const count = (openStreams.get(id) ?? 0) + 1;
    openStreams.set(id, count);
    if (count === 1) await markAgentConnected(deps, agent);
    // The stream remembers the state it last wrote: a report that keeps it writes nothing now.
    let state: AgentState = "online";
    let closed = false;
    return {
      async record(health) {
        // Dropped, not refused: an error would end the session early and send
        // its agent reconnecting into a server that is going away. The stop
        // has written the agent's last state and its listener closes next.
        if (stopping) return;
        checkHealth(health);
        const next = stateFromHealth(health);
        if (sweptWhileOpen.delete(id)) {
          await markAgentConnected(deps, agent);
          state = "online";
        }
        const report = { id, lastSeenAt: deps.clock.now(), lastHealth: health };
        presence.note(report);
        await publishAlerts(id, agent, health);
        if (next === state) return;
        state = next;
        const failed = health.checks.filter((check) => !check.ok).map((check) => check.name);
        let written: HeartbeatRow | undefined;
        try {
          // The change and its event in one transaction, with the report that made it.
          await deps.events.commit(async (tx) => {
            written = presence.take(id);
            const { lastSeenAt, lastHealth } = written ?? report;
            await tx.agents.updateHealth(id, { lastSeenAt, lastHealth, state: next });
            await tx.emit({
              type: "agent.updated",
              subjectId: id,
              data: { ...agentPayload(agent), state: next, failed },
              // Health moves no configuration.
              changes: noChanges,
            });
          });
        } catch (error) {
          if (written !== undefined) presence.restore([written]);
          if (isDroverError(error) && error.code === "not_found") {
            throw new DroverError("unauthenticated", "this agent is no longer part of the fleet");
          }
          throw error;
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
        sweptWhileOpen.delete(id);
        const lastReport = presence.take(id);
        presence.forget(id);
        // At shutdown, `stop` has already said why every agent went offline (and flushed).
        if (stopping) return;
        await markAgentDisconnected(deps, id, "stream_closed", lastReport);
        if (!(await deps.store.agents.get(id))) alerts.delete(id);
      },
    };
  }

  return {
    open,
    /** The alerts firing now, newest first: what the last alert events of each said. */
    openAlerts: (): OpenAlert[] => openAlertsOf(alerts),
    /** Three missed heartbeats make an agent offline, even if its stream looks open. */
    async sweep(): Promise<void> {
      const pending = presence.takeAll();
      let swept: string[];
      try {
        swept = await markSilentAgentsOffline(deps, pending);
      } catch (error) {
        presence.restore(pending);
        throw error;
      }
      for (const id of swept) if (openStreams.has(id)) sweptWhileOpen.add(id);
    },
    /** Writes every report not yet written, in one statement. */
    flush: presence.flush,
    /** The flush loop: every intervalMs on the injected timers. */
    flushTask: presence.task,
    /** A row as its agent's last report says, when that is newer than the stored one. */
    withLiveHealth: presence.withLiveHealth,
    /**
     * The server stops: no stream opens or records any more (a report in
     * flight could mark its agent online again), the reports not yet
     * flushed are written, and every agent still connected is
     * `agent.disconnected` with `server_shutdown`, in one transaction.
     */
    async stop(): Promise<void> {
      stopping = true;
      alertRules.close();
      await markAllAgentsOffline(deps, presence.takeAll());
    },
  };
}
