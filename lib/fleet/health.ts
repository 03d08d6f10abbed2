import { invalidField } from "../errors/index.ts";
import { type AgentAlert, checkAgentAlerts } from "./agent-alerts.ts";

export interface HealthCheckResult {
  name: string;
  ok: boolean;
  message: string;
}

/** The agent's nginx as its health report and command results describe it. */
export interface NginxHealth {
  running: boolean;
  pid?: number;
  uptimeSeconds?: number;
  activeConnections?: number;
  requestsTotal?: number;
  requestsPerSecond?: number;
  /** The configuration version nginx runs. */
  configVersion?: string;
}

/** One health report as the server keeps it (`agents.last_health`). */
export type AgentHealth = {
  observedAt: string;
  cpuPercent: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
  diskUsedBytes: number;
  diskTotalBytes: number;
  loadAverage: [number, number, number];
  uptimeSeconds: number;
  version: string;
  configHash: string;
  checks: HealthCheckResult[];
  /** Absent when the agent runs no nginx. */
  nginx?: NginxHealth;
  /** The alerts the agent raises itself, active now; absent: none. */
  alerts?: AgentAlert[];
};

function checkFigure(field: string, value: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isFinite(value) || value < 0 || value > max) {
    throw invalidField(field, `must be a number from 0 to ${max}`);
  }
}

/** Rejects a report whose figures cannot be true, so nothing absurd is stored. */
export function checkHealth(health: AgentHealth): void {
  checkFigure("report.cpu_percent", health.cpuPercent, 100 * 4096);
  checkFigure("report.memory_used_bytes", health.memoryUsedBytes);
  checkFigure("report.memory_total_bytes", health.memoryTotalBytes);
  checkFigure("report.disk_used_bytes", health.diskUsedBytes);
  checkFigure("report.disk_total_bytes", health.diskTotalBytes);
  for (const [index, value] of health.loadAverage.entries()) {
    checkFigure(`report.load_average[${index}]`, value);
  }
  checkFigure("report.uptime_seconds", health.uptimeSeconds);
  if (health.version.length > 64) throw invalidField("report.version", "at most 64 characters");
  if (health.configHash.length > 128)
    throw invalidField("report.config_hash", "at most 128 characters");
  if (health.checks.length > 32) throw invalidField("report.checks", "at most 32 checks");
  if (health.nginx !== undefined) {
    const nginx = health.nginx;
    checkFigure("report.nginx.pid", nginx.pid ?? 0, 2 ** 32 - 1);
    checkFigure("report.nginx.uptime_seconds", nginx.uptimeSeconds ?? 0);
    checkFigure("report.nginx.active_connections", nginx.activeConnections ?? 0);
    checkFigure("report.nginx.requests_total", nginx.requestsTotal ?? 0);
    checkFigure("report.nginx.requests_per_second", nginx.requestsPerSecond ?? 0);
    if ((nginx.configVersion ?? "").length > 128)
      throw invalidField("report.nginx.config_version", "at most 128 characters");
  }
  checkAgentAlerts(health.alerts ?? []);
  health.checks.forEach((check, index) => {
    if (check.name === "" || check.name.length > 64) {
      throw invalidField(`report.checks[${index}].name`, "must be 1-64 characters");
    }
    if (check.message.length > 1024) {
      throw invalidField(`report.checks[${index}].message`, "at most 1024 characters");
    }
  });
}

/** An agent is degraded when any of its own checks fails. */
export function stateFromHealth(health: AgentHealth): "online" | "degraded" {
  return health.checks.every((check) => check.ok) ? "online" : "degraded";
}
