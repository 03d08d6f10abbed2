/**
 * The reconnect storm of the scale bench (issue 13): with every simulated
 * agent connected, the server stops and starts again on the same data dir and
 * ports; the agents reconnect as the real agent does. Reports how long the
 * stop and the start took, when half, 90 %, 99 % and all of the agents were
 * back, and how many reconnection attempts failed and why.
 */
import { readFileSync } from "node:fs";
import { fmtMs, fmtNumber, now, pause } from "../table.ts";
import { connectedCount, type ServerHandle } from "./server-handle.ts";
import type { SimFleet } from "./sim-fleet.ts";

export interface StormResult {
  agents: number;
  stopMs: number;
  startMs: number;
  /** From the stop until each share of the agents was connected again. */
  backMs: { half: number; most: number; nearlyAll: number; all: number };
  attempts: number;
  /** Attempts that failed (reset, refused, …), by reason; sessions the stop ended are not counted. */
  failures: Record<string, number>;
  /** Connections the kernel dropped because a listen queue was full (whole machine; Linux only). */
  listenOverflows: number | undefined;
}

/** TcpExt ListenOverflows from /proc/net/netstat, or undefined where there is none. */
function listenOverflows(): number | undefined {
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8").split("\n");
    const header = lines.findIndex((line) => line.startsWith("TcpExt:"));
    const names = lines[header]?.split(" ") ?? [];
    const values = lines[header + 1]?.split(" ") ?? [];
    const value = Number(values[names.indexOf("ListenOverflows")]);
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function newFailures(
  after: Record<string, number>,
  before: Record<string, number>,
): Record<string, number> {
  const diff: Record<string, number> = {};
  for (const [reason, n] of Object.entries(after)) {
    const delta = n - (before[reason] ?? 0);
    // A session the restart ended is `ended: …`; the rest are failed attempts.
    if (delta > 0 && !reason.startsWith("ended")) diff[reason] = delta;
  }
  return diff;
}

/** Restarts the server with every agent of `ids` connected and waits until all are back. */
export async function reconnectStorm(
  handle: ServerHandle,
  sims: SimFleet,
  ids: readonly string[],
  budgetMs = 600_000,
): Promise<StormResult> {
  const agents = ids.length;
  const before = await sims.stats();
  const overflowsBefore = listenOverflows();
  const started = now();
  const { stopMs, startMs } = await handle.restart();
  const marks = { half: 0.5, most: 0.9, nearlyAll: 0.99, all: 1 };
  const backMs = { half: Number.NaN, most: Number.NaN, nearlyAll: Number.NaN, all: Number.NaN };
  for (;;) {
    const connected = connectedCount(handle.current(), ids);
    const at = now() - started;
    for (const [name, share] of Object.entries(marks) as Array<[keyof typeof marks, number]>)
      if (Number.isNaN(backMs[name]) && connected >= Math.ceil(share * agents)) backMs[name] = at;
    if (connected >= agents) break;
    if (at > budgetMs)
      throw new Error(
        `${connected} of ${agents} agents back ${budgetMs / 1000} s after the restart`,
      );
    await pause(200);
  }
  const after = await sims.stats();
  const overflowsAfter = listenOverflows();
  return {
    agents,
    stopMs,
    startMs,
    backMs,
    attempts: after.counters.attempts - before.counters.attempts,
    failures: newFailures(after.counters.failures, before.counters.failures),
    listenOverflows:
      overflowsBefore === undefined || overflowsAfter === undefined
        ? undefined
        : overflowsAfter - overflowsBefore,
  };
}

export const failedAttempts = (storm: StormResult): number =>
  Object.values(storm.failures).reduce((sum, n) => sum + n, 0);

/** The storm's rows of the scale section's second table. */
export function stormRows(storm: StormResult): string[][] {
  const reasons = Object.entries(storm.failures)
    .map(([reason, n]) => `${reason} ${fmtNumber(n)}`)
    .join(", ");
  const { backMs } = storm;
  return [
    ["reconnect storm: server stop / start", `${fmtMs(storm.stopMs)} / ${fmtMs(storm.startMs)}`],
    [
      "reconnect storm: 50 % / 90 % / 99 % connected again (from the stop)",
      `${fmtMs(backMs.half)} / ${fmtMs(backMs.most)} / ${fmtMs(backMs.nearlyAll)}`,
    ],
    [
      `reconnect storm: all ${fmtNumber(storm.agents)} connected again (from the stop)`,
      fmtMs(backMs.all),
    ],
    ["reconnect storm: connection attempts", fmtNumber(storm.attempts)],
    [
      "reconnect storm: attempts reset / refused / failed",
      `${fmtNumber(failedAttempts(storm))}${reasons ? ` (${reasons})` : ""}`,
    ],
    [
      "reconnect storm: connections dropped by full listen queues (kernel, whole machine)",
      storm.listenOverflows === undefined ? "—" : fmtNumber(storm.listenOverflows),
    ],
  ];
}
