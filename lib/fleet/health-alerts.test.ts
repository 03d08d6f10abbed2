// Issue 10, NxMesh fidelity: health alerts carry a severity from the thresholds; hysteresis keeps them quiet.

import { describe, expect, test } from "bun:test";
import { healthReport } from "../../test/support/health-report.ts";
import type { AlertSeverity } from "../events/index.ts";
import type { AgentHealth } from "./health.ts";
import { type AlertMetric, alertRulesFor, evaluateAlerts } from "./health-alerts.ts";

function health(cpuPercent: number, memoryPercent = 10, diskPercent = 10): AgentHealth {
  return healthReport(new Date(0), cpuPercent, memoryPercent, diskPercent);
}

const firing = (entries: Array<[AlertMetric, AlertSeverity]>) =>
  new Map(entries.map(([metric, severity]) => [metric, { severity }]));

/** Feeds a series of CPU values and returns the alert changes it produced, in order. */
function run(values: number[]): string[] {
  const now = firing([]);
  const seen: string[] = [];
  for (const value of values) {
    for (const change of evaluateAlerts(now, health(value))) {
      if (change.state === "firing") now.set(change.metric, { severity: change.severity });
      else now.delete(change.metric);
      seen.push(`${change.state}:${change.severity}@${value}`);
    }
  }
  return seen;
}

describe("health alerts with hysteresis", () => {
  test("fires above the raise threshold and resolves only below the clear threshold", () => {
    expect(run([50, 91, 95, 85, 81, 79, 50])).toEqual(["firing:warning@91", "resolved:warning@79"]);
  });

  test("a value flapping around the raise threshold fires once", () => {
    expect(run([89, 91, 89, 91, 89, 91, 89])).toEqual(["firing:warning@91"]);
  });

  test("above the critical threshold an alert escalates once and resolves at the severity it reached", () => {
    expect(run([91, 99, 97, 99, 92, 60])).toEqual([
      "firing:warning@91",
      "firing:critical@99",
      "resolved:critical@60",
    ]);
    expect(run([99, 60])).toEqual(["firing:critical@99", "resolved:critical@60"]);
  });

  test("each metric has its own state, severity and message", () => {
    const changes = evaluateAlerts(firing([["cpu_percent", "warning"]]), health(50, 96, 91));
    expect(changes).toEqual([
      {
        metric: "cpu_percent",
        state: "resolved",
        severity: "warning",
        value: 50,
        message: "CPU usage back to 50%",
      },
      {
        metric: "memory_percent",
        state: "firing",
        severity: "critical",
        value: 96,
        message: "High memory usage: 96%",
      },
      {
        metric: "disk_percent",
        state: "firing",
        severity: "warning",
        value: 91,
        message: "High disk usage: 91%",
      },
    ]);
  });

  test("nginx not running is critical at once and resolves when it runs again; agents without nginx never fire", () => {
    const withNginx = (running: boolean) => ({ ...health(10), nginx: { running } });
    const down = evaluateAlerts(firing([]), withNginx(false));
    expect(down).toEqual([
      {
        metric: "nginx_down",
        state: "firing",
        severity: "critical",
        value: 1,
        message: "nginx is not running",
      },
    ]);
    expect(evaluateAlerts(firing([["nginx_down", "critical"]]), withNginx(false))).toEqual([]);
    expect(evaluateAlerts(firing([["nginx_down", "critical"]]), withNginx(true))).toEqual([
      {
        metric: "nginx_down",
        state: "resolved",
        severity: "critical",
        value: 0,
        message: "nginx is running again",
      },
    ]);
    expect(evaluateAlerts(firing([]), health(10))).toEqual([]);
  });
});

describe("per-workspace alert thresholds", () => {
  const workspaceRules = alertRulesFor({ cpu_percent: { warning: 50, clear: 40 } });

  test("a workspace's cpu warning at 50 fires at 60 where the defaults stay quiet", () => {
    const fired = evaluateAlerts(firing([]), health(60), workspaceRules);
    expect(fired.map((c) => [c.metric, c.state, c.severity])).toEqual([
      ["cpu_percent", "firing", "warning"],
    ]);
    expect(evaluateAlerts(firing([]), health(60), alertRulesFor(null))).toEqual([]);
    // It clears below its own clear, not the default's 80.
    const current = firing([["cpu_percent", "warning"]]);
    expect(evaluateAlerts(current, health(45), workspaceRules)).toEqual([]);
    expect(evaluateAlerts(current, health(39), workspaceRules).map((c) => c.state)).toEqual([
      "resolved",
    ]);
  });

  test("without critical the alert never escalates; metrics not given keep their defaults", () => {
    expect(
      evaluateAlerts(firing([["cpu_percent", "warning"]]), health(99.5), workspaceRules),
    ).toEqual([]);
    const withCritical = alertRulesFor({ cpu_percent: { warning: 50, critical: 70, clear: 40 } });
    expect(evaluateAlerts(firing([]), health(75), withCritical).map((c) => c.severity)).toEqual([
      "critical",
    ]);
    // Memory keeps the default rule: nothing at 85, critical above 95.
    expect(evaluateAlerts(firing([]), health(10, 85), workspaceRules)).toEqual([]);
    expect(
      evaluateAlerts(firing([]), health(10, 96), workspaceRules).map((c) => [c.metric, c.severity]),
    ).toEqual([["memory_percent", "critical"]]);
    expect(alertRulesFor({})).toEqual(alertRulesFor(undefined));
  });
});
