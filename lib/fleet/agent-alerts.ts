import { invalidField } from "../errors/index.ts";
import { type AlertSeverity, alertSeverities } from "../events/index.ts";
import type { AlertChange } from "./health-alerts.ts";

/** An alert the agent raises itself (NxMesh's HealthReport.alerts): a condition only it sees. */
export interface AgentAlert {
  /** Stable while the condition lasts, e.g. `upstream_down:<upstream>:<address>`. */
  id: string;
  severity: AlertSeverity;
  message: string;
  /** When the agent noticed it (ISO 8601). */
  timestamp: string;
}

export const agentAlertLimits = { alerts: 64, idLength: 256, messageLength: 1024 } as const;

export function isAlertSeverity(value: string): value is AlertSeverity {
  return (alertSeverities as readonly string[]).includes(value);
}

/** Rejects a report's alerts that could not be true or would flood: count, lengths, duplicates. */
export function checkAgentAlerts(alerts: readonly AgentAlert[]): void {
  if (alerts.length > agentAlertLimits.alerts)
    throw invalidField("report.alerts", `at most ${agentAlertLimits.alerts} alerts`);
  const seen = new Set<string>();
  alerts.forEach((alert, i) => {
    if (alert.id === "" || alert.id.length > agentAlertLimits.idLength)
      throw invalidField(
        `report.alerts[${i}].id`,
        `must be 1-${agentAlertLimits.idLength} characters`,
      );
    if (seen.has(alert.id)) throw invalidField(`report.alerts[${i}].id`, "is repeated");
    seen.add(alert.id);
    if (!isAlertSeverity(alert.severity))
      throw invalidField(
        `report.alerts[${i}].severity`,
        "must be info, warning, error or critical",
      );
    if (alert.message.length > agentAlertLimits.messageLength)
      throw invalidField(
        `report.alerts[${i}].message`,
        `at most ${agentAlertLimits.messageLength} characters`,
      );
  });
}

/** Agent alerts share the firing map with the threshold alerts under this key (metrics have no colon). */
export const agentAlertKey = (id: string) => `agent:${id}`;

/** A change of an agent alert: `metric` is the agent's own alert id. */
export interface AgentAlertChange extends Omit<AlertChange, "metric"> {
  metric: string;
  key: string;
  source: "agent";
}

const rank = (severity: AlertSeverity) => alertSeverities.indexOf(severity);

/**
 * Pure: a report carries the agent's active alerts, so one not firing yet
 * starts, one at a higher severity escalates, and one firing that the report
 * no longer carries is resolved (with the message it last had).
 */
export function agentAlertChanges(
  firing: ReadonlyMap<string, { readonly severity: AlertSeverity; readonly message?: string }>,
  alerts: readonly AgentAlert[],
): AgentAlertChange[] {
  const changes: AgentAlertChange[] = [];
  const active = new Set<string>();
  for (const alert of alerts) {
    const key = agentAlertKey(alert.id);
    active.add(key);
    const current = firing.get(key);
    if (current === undefined || rank(alert.severity) > rank(current.severity)) {
      changes.push({
        key,
        metric: alert.id,
        source: "agent",
        state: "firing",
        severity: alert.severity,
        value: 1,
        message: alert.message,
      });
    }
  }
  for (const [key, current] of firing) {
    if (!key.startsWith("agent:") || active.has(key)) continue;
    changes.push({
      key,
      metric: key.slice("agent:".length),
      source: "agent",
      state: "resolved",
      severity: current.severity,
      value: 0,
      message: current.message ?? "",
    });
  }
  return changes;
}
