// Audit issue 9, item 3 (reliability): server.stop() returns under Bun, 50 times in a row.
import { expect, test } from "bun:test";
import { createAgent } from "../../lib/agent/index.ts";
import { startDroverServer } from "../../lib/server/index.ts";
import { CLOSE_DEADLINE_MS } from "../../lib/server/limits.ts";
import { startStopLoop } from "../support/stop-loop.mjs";

test("a server with a connected or connecting agent stops 50 times in a row", async () => {
  const slowestStopMs = await startStopLoop(
    { startDroverServer, createAgent },
    { rounds: 50, stopDeadlineMs: 10_000 },
  );
  // A stop that waited out a listener's close deadline left a connection behind.
  expect(slowestStopMs).toBeLessThan(CLOSE_DEADLINE_MS);
}, 60_000);
