import { monitorEventLoopDelay } from "node:perf_hooks";
import type { AgentHealth, HealthStream } from "../lib/fleet/index.ts";
import { now, percentile, within } from "./table.ts";

/** What a heartbeat load did while it ran. */
export interface HeartbeatLoadStats {
  recorded: number;
  failed: number;
  wallMs: number;
  /** record() from the call to its promise resolving. */
  p50: number;
  p99: number;
  /** The event loop's lag over the load, in ms. */
  lagP99: number;
  lagMax: number;
  /** This process's CPU over the load, in % of one core. */
  cpuPercent: number;
}

export interface HeartbeatLoad {
  /** Stops sending, waits for the reports in flight and says what the load did. */
  stop(): Promise<HeartbeatLoadStats>;
}

/**
 * Heartbeats through the server's real presence path in this process: every
 * 10 ms tick sends what `perSecond` owes so far, round-robin over `streams`,
 * until `stop`. The server's own flush task writes them.
 */
export function startHeartbeatLoad(
  streams: readonly HealthStream[],
  perSecond: number,
  health: AgentHealth,
): HeartbeatLoad {
  const latencies: number[] = [];
  let failed = 0;
  let inFlight: Promise<unknown>[] = [];
  const lag = monitorEventLoopDelay({ resolution: 5 });
  const controller = new AbortController();
  const cpuBefore = process.cpuUsage();
  const started = now();
  lag.enable();

  const sending = (async () => {
    let sent = 0;
    let next = 0;
    while (!controller.signal.aborted) {
      const owed = Math.floor(((now() - started) / 1000) * perSecond) - sent;
      for (let i = 0; i < owed; i++) {
        const stream = streams[next] as HealthStream;
        next = (next + 1) % streams.length;
        const at = now();
        inFlight.push(
          stream.record(health).then(
            () => latencies.push(now() - at),
            () => {
              failed += 1;
            },
          ),
        );
      }
      sent += Math.max(0, owed);
      if (inFlight.length > 10_000) inFlight = [Promise.all(inFlight)];
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();

  return {
    async stop() {
      controller.abort();
      await sending;
      await within(60_000, "heartbeats in flight", Promise.all(inFlight));
      const wallMs = now() - started;
      lag.disable();
      const cpu = process.cpuUsage(cpuBefore);
      return {
        recorded: latencies.length,
        failed,
        wallMs,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        lagP99: lag.percentile(99) / 1e6,
        lagMax: lag.max / 1e6,
        cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      };
    },
  };
}
