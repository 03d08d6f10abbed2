import { type AgentAlert, agentAlertLimits } from "../fleet/index.ts";
import type { Clock } from "../time/index.ts";

/**
 * The alerts only the agent sees: an upstream server its active health
 * checker finds down. Each has a stable id, so the server keeps one alert_id
 * from the report that raises it to the first report without it.
 */
export function createUpstreamAlerts(clock: Clock) {
  // Alert id → the alert, with the time it was first seen.
  let active = new Map<string, AgentAlert>();
  return {
    /** The checker's findings: upstream id → addresses down. */
    update(down: Record<string, string[]>): void {
      const next = new Map<string, AgentAlert>();
      for (const [upstream, addresses] of Object.entries(down)) {
        for (const address of addresses) {
          const id = `upstream_down:${upstream}:${address}`;
          next.set(
            id,
            active.get(id) ?? {
              id,
              severity: "warning",
              message: `Upstream ${upstream} server ${address} is down`,
              timestamp: clock.now().toISOString(),
            },
          );
        }
      }
      active = next;
    },
    /** The set a health report carries now, within what the server accepts in one. */
    active: (): AgentAlert[] => [...active.values()].slice(0, agentAlertLimits.alerts),
  };
}
