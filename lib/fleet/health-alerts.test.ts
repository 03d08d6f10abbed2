import { describe, expect, test } from "bun:test";
import type { AgentHealth } from "./health.ts";
import { evaluateAlerts } from "./health-alerts.ts";

function health(cpuPercent: number, memoryPercent = 10, diskPercent = 10): AgentHealth {
  return {
    observedAt: new Date(0).toISOString(),
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

/** Feeds a series of CPU values and returns the alert states it produced, in order. */
function run(values: number[]): string[] {
  const firing = new Set<string>();
  const seen: string[] = [];
  for (const value of values) {
    for (const change of evaluateAlerts(firing, health(value))) {
      if (change.state === "firing") firing.add(change.metric);
      else firing.delete(change.metric);
      seen.push(`${change.state}@${value}`);
    }
  }
  return seen;
}

describe("health alerts with hysteresis", () => {
  test("fires above the raise threshold and resolves only below the clear threshold", () => {
    expect(run([50, 91, 95, 85, 81, 79, 50])).toEqual(["firing@91", "resolved@79"]);
  });

  test("a value flapping around the raise threshold fires once", () => {
    expect(run([89, 91, 89, 91, 89, 91, 89])).toEqual(["firing@91"]);
  });

  test("each metric has its own state and message", () => {
    const changes = evaluateAlerts(new Set(["cpu_percent"]), health(50, 95, 88));
    expect(changes.map((change) => [change.metric, change.state])).toEqual([
      ["cpu_percent", "resolved"],
      ["memory_percent", "firing"],
    ]);
    expect(changes[1]?.message).toBe("High memory usage: 95%");
  });

  test("nginx not running fires once and resolves when it runs again; agents without nginx never fire", () => {
    const withNginx = (running: boolean) => ({ ...health(10), nginx: { running } });
    const down = evaluateAlerts(new Set(), withNginx(false));
    expect(down).toEqual([
      { metric: "nginx_down", state: "firing", value: 1, message: "nginx is not running" },
    ]);
    expect(evaluateAlerts(new Set(["nginx_down"]), withNginx(false))).toEqual([]);
    expect(evaluateAlerts(new Set(["nginx_down"]), withNginx(true))).toEqual([
      { metric: "nginx_down", state: "resolved", value: 0, message: "nginx is running again" },
    ]);
    expect(evaluateAlerts(new Set(), health(10))).toEqual([]);
  });
});
