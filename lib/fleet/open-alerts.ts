import type { AlertSeverity } from "../events/index.ts";

/** An alert firing now, as its latest `health.alert` event said it. */
export interface OpenAlert {
  alertId: string;
  agentId: string;
  severity: AlertSeverity;
  message: string;
  /** The threshold's metric, or the agent's own alert id. */
  metric: string;
  value: number;
  source: "server" | "agent";
  /** When it was raised (an escalation keeps it). */
  since: Date;
}

/**
 * What the health streams remember of one firing alert: enough to resolve it
 * later and to list it while it fires. Kept per agent, across reconnects.
 */
export type FiringAlert = Omit<OpenAlert, "agentId">;

/** The health streams' firing alerts, per agent and then per key (metric or agentAlertKey). */
export type FiringAlerts = ReadonlyMap<string, ReadonlyMap<string, FiringAlert>>;

/** Every alert firing now, newest first (ties by id, so the order is stable). */
export function openAlertsOf(firing: FiringAlerts): OpenAlert[] {
  const open: OpenAlert[] = [];
  for (const [agentId, alerts] of firing) {
    for (const alert of alerts.values()) open.push({ ...alert, agentId });
  }
  return open.sort(
    (a, b) =>
      b.since.getTime() - a.since.getTime() ||
      (a.alertId < b.alertId ? -1 : a.alertId > b.alertId ? 1 : 0),
  );
}
