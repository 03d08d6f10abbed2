// Issue 10: agent alerts (HealthReport.alerts) raise, escalate and resolve as health.alert / health.alert_resolved.
import { expect, test } from "bun:test";
import type { AlertSeverity } from "../events/index.ts";
import {
  type AgentAlert,
  agentAlertChanges,
  agentAlertKey,
  checkAgentAlerts,
} from "./agent-alerts.ts";

const alert = (id: string, severity: AlertSeverity = "warning"): AgentAlert => ({
  id,
  severity,
  message: `${id} is wrong`,
  timestamp: "2026-03-02T12:00:00.000Z",
});

test("a report's alerts are the active set: new ones fire, higher severities escalate, missing ones resolve", () => {
  const firing = new Map([
    [agentAlertKey("kept"), { severity: "warning" as const, message: "kept is wrong" }],
    [agentAlertKey("gone"), { severity: "error" as const, message: "gone is wrong" }],
    // A threshold alert of the server: not the agent's to resolve.
    ["cpu_percent", { severity: "warning" as const }],
  ]);
  const changes = agentAlertChanges(firing, [alert("kept", "critical"), alert("new")]);
  expect(
    changes.map(({ metric, state, severity, value }) => ({ metric, state, severity, value })),
  ).toEqual([
    { metric: "kept", state: "firing", severity: "critical", value: 1 },
    { metric: "new", state: "firing", severity: "warning", value: 1 },
    { metric: "gone", state: "resolved", severity: "error", value: 0 },
  ]);
  expect(changes[2]?.message).toBe("gone is wrong");
  // The same report again changes nothing (a lower severity does not de-escalate).
  expect(
    agentAlertChanges(new Map([[agentAlertKey("a"), { severity: "error" as const }]]), [
      alert("a", "info"),
    ]),
  ).toEqual([]);
});

test("alerts that could not be true are refused, naming the field", () => {
  expect(() => checkAgentAlerts([alert("a"), alert("a")])).toThrow("report.alerts[1].id");
  expect(() => checkAgentAlerts([alert("")])).toThrow("report.alerts[0].id");
  expect(() => checkAgentAlerts([{ ...alert("a"), severity: "panic" as AlertSeverity }])).toThrow(
    "report.alerts[0].severity",
  );
  expect(() => checkAgentAlerts(Array.from({ length: 65 }, (_, i) => alert(`a${i}`)))).toThrow(
    "report.alerts",
  );
});
