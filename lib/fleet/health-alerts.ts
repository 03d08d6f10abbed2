import type { AgentHealth } from "./health.ts";

/**
 * A metric fires above `raise` and clears only below `clear`: between the two
 * nothing changes, so a value hovering at the threshold does not flood.
 */
export interface AlertRule {
  metric: "cpu_percent" | "memory_percent" | "disk_percent" | "nginx_down";
  raise: number;
  clear: number;
  label: string;
}

export const defaultAlertRules: readonly AlertRule[] = [
  { metric: "cpu_percent", raise: 90, clear: 80, label: "CPU usage" },
  { metric: "memory_percent", raise: 90, clear: 80, label: "Memory usage" },
  { metric: "disk_percent", raise: 90, clear: 85, label: "Disk usage" },
  // 1 while the agent's nginx is not running (only agents that run nginx report it).
  { metric: "nginx_down", raise: 0.5, clear: 0.5, label: "nginx" },
];

export interface AlertChange {
  metric: AlertRule["metric"];
  state: "firing" | "resolved";
  value: number;
  message: string;
}

function percent(used: number, total: number): number {
  return total > 0 ? Math.round((used / total) * 1000) / 10 : 0;
}

export function metricValues(health: AgentHealth): Record<AlertRule["metric"], number> {
  return {
    cpu_percent: health.cpuPercent,
    memory_percent: percent(health.memoryUsedBytes, health.memoryTotalBytes),
    disk_percent: percent(health.diskUsedBytes, health.diskTotalBytes),
    nginx_down: health.nginx !== undefined && !health.nginx.running ? 1 : 0,
  };
}

/** Pure: given what is firing now and a report, what starts and what stops firing. */
export function evaluateAlerts(
  firing: ReadonlySet<string>,
  health: AgentHealth,
  rules: readonly AlertRule[] = defaultAlertRules,
): AlertChange[] {
  const values = metricValues(health);
  const changes: AlertChange[] = [];
  for (const rule of rules) {
    const value = values[rule.metric];
    if (!firing.has(rule.metric) && value > rule.raise) {
      changes.push({
        metric: rule.metric,
        state: "firing",
        value,
        message:
          rule.metric === "nginx_down"
            ? "nginx is not running"
            : `High ${rule.label.toLowerCase()}: ${value}%`,
      });
    } else if (firing.has(rule.metric) && value < rule.clear) {
      changes.push({
        metric: rule.metric,
        state: "resolved",
        value,
        message:
          rule.metric === "nginx_down"
            ? "nginx is running again"
            : `${rule.label} back to ${value}%`,
      });
    }
  }
  return changes;
}
