import type { createAgent } from "../../lib/agent/index.ts";
import type { startDroverServer } from "../../lib/server/index.ts";

/** See stop-loop.mjs: resolves with the slowest stop in ms, rejects on a stop past the deadline. */
export function startStopLoop(
  drover: { startDroverServer: typeof startDroverServer; createAgent: typeof createAgent },
  options: { rounds: number; stopDeadlineMs: number },
): Promise<number>;
