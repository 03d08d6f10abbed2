import { type AlertSeverity, alertSeverities } from "../events/index.ts";
import type { AlertThresholds } from "../store/index.ts";
import type { AgentHealth } from "./health.ts";

export type AlertMetric = "cpu_percent" | "memory_percent" | "disk_percent" | "nginx_down";

/**
 * A metric's alert is raised above `raise` at `severity`, escalated to
 * `critical` above `critical`, and resolved only below `clear`: between
 * `clear` and `raise` nothing changes, so a value hovering at the threshold
 * does not flood.
 */
export interface AlertRule {
  metric: AlertMetric;
  raise: number;
  clear: number;
  severity: AlertSeverity;
  critical?: number;
  /** As it reads mid-sentence: "High CPU usage: 95%", the seed's wording. */
  label: string;
}

/**
 * Every threshold in one place. A full disk or memory stops services, so they
 * turn critical sooner than a busy CPU; nginx not running means the agent's
 * sites are down, which is critical at once. A workspace's alert_thresholds
 * replace them per metric for its agents (alertRulesFor).
 */
export const defaultAlertRules: readonly AlertRule[] = [
  {
    metric: "cpu_percent",
    raise: 90,
    clear: 80,
    severity: "warning",
    critical: 98,
    label: "CPU usage",
  },
  {
    metric: "memory_percent",
    raise: 90,
    clear: 80,
    severity: "warning",
    critical: 95,
    label: "memory usage",
  },
  {
    metric: "disk_percent",
    raise: 90,
    clear: 85,
    severity: "warning",
    critical: 95,
    label: "disk usage",
  },
  // 1 while the agent's nginx is not running (only agents that run nginx report it).
  { metric: "nginx_down", raise: 0.5, clear: 0.5, severity: "critical", label: "nginx" },
];

/** An alert starts or escalates (`firing`) or ends (`resolved`, at the severity it had). */
export interface AlertChange {
  metric: AlertMetric;
  state: "firing" | "resolved";
  severity: AlertSeverity;
  value: number;
  message: string;
}

function percent(used: number, total: number): number {
  return total > 0 ? Math.round((used / total) * 1000) / 10 : 0;
}

function metricValues(health: AgentHealth): Record<AlertMetric, number> {
  return {
    cpu_percent: health.cpuPercent,
    memory_percent: percent(health.memoryUsedBytes, health.memoryTotalBytes),
    disk_percent: percent(health.diskUsedBytes, health.diskTotalBytes),
    nginx_down: health.nginx !== undefined && !health.nginx.running ? 1 : 0,
  };
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

const rank = (severity: AlertSeverity) => alertSeverities.indexOf(severity);

function severityAt(rule: AlertRule, value: number): AlertSeverity {
  return rule.critical !== undefined && value > rule.critical ? "critical" : rule.severity;
}

/**
 * Pure: given the alerts firing now (by metric, with their severity) and a
 * report, what starts, escalates and stops firing. Severity only rises while
 * an alert fires, so a value around the critical threshold escalates once.
 */
export function evaluateAlerts(
  // Keyed by metric; other keys (the agent's own alerts) are not this function's.
  firing: ReadonlyMap<string, { readonly severity: AlertSeverity }>,
  health: AgentHealth,
  rules: readonly AlertRule[] = defaultAlertRules,
): AlertChange[] {
  const values = metricValues(health);
  const changes: AlertChange[] = [];
  for (const rule of rules) {
    const value = values[rule.metric];
    const current = firing.get(rule.metric);
    const severity = severityAt(rule, value);
    const high =
      rule.metric === "nginx_down" ? "nginx is not running" : `High ${rule.label}: ${value}%`;
    if (current === undefined) {
      if (value > rule.raise)
        changes.push({ metric: rule.metric, state: "firing", severity, value, message: high });
    } else if (value < rule.clear) {
      changes.push({
        metric: rule.metric,
        state: "resolved",
        severity: current.severity,
        value,
        message:
          rule.metric === "nginx_down"
            ? "nginx is running again"
            : `${capitalized(rule.label)} back to ${value}%`,
      });
    } else if (rank(severity) > rank(current.severity)) {
      changes.push({ metric: rule.metric, state: "firing", severity, value, message: high });
    }
  }
  return changes;
}

/**
 * The rules for a workspace's agents: each metric it sets thresholds for
 * replaces the default rule of that metric (without `critical`, the alert
 * never escalates); the others, and nginx_down, keep the defaults.
 */
export function alertRulesFor(
  thresholds: AlertThresholds | null | undefined,
): readonly AlertRule[] {
  if (!thresholds) return defaultAlertRules;
  return defaultAlertRules.map((rule) => {
    const set = rule.metric === "nginx_down" ? undefined : thresholds[rule.metric];
    if (!set) return rule;
    const { critical: _default, ...rest } = rule;
    return {
      ...rest,
      raise: set.warning,
      clear: set.clear,
      ...(set.critical === undefined ? {} : { critical: set.critical }),
    };
  });
}
