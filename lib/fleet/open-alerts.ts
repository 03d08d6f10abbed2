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

/**
 * Every alert firing now, newest first. Two raised within one clock tick keep
 * the order they were raised in, later first: the maps hold alerts in the order
 * they were added, and the sort is stable over that order reversed (ordering
 * ties by their random ids made "newest first" a coin toss).
 */
export function openAlertsOf(firing: FiringAlerts): OpenAlert[] {
  const open: OpenAlert[] = [];
  for (const [agentId, alerts] of firing) {
    for (const alert of alerts.values()) open.push({ ...alert, agentId });
  }
  return open.reverse().sort((a, b) => b.since.getTime() - a.since.getTime());
}
