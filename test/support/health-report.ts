import type { AgentHealth } from "../../lib/fleet/index.ts";

/** A health report observed at `at` with the given usage percentages and nothing else of note. */
export function healthReport(
  at: Date,
  cpuPercent: number,
  memoryPercent = 1,
  diskPercent = 1,
): AgentHealth {
  return {
    observedAt: at.toISOString(),
    cpuPercent,
    memoryUsedBytes: memoryPercent,
    memoryTotalBytes: 100,
    diskUsedBytes: diskPercent,
    diskTotalBytes: 100,
    loadAverage: [0, 0, 0],
    uptimeSeconds: 1,
    version: "test",
    configHash: "",
    checks: [],
  };
}
