// Audit issue 9, item 3 (reliability): server.stop() returns under Node, 50 times in a row.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startStopLoop } from "../support/stop-loop.mjs";

test("a server with a connected or connecting agent stops 50 times in a row", async () => {
  const drover = await import("drover");
  const slowestStopMs = await startStopLoop(drover, { rounds: 50, stopDeadlineMs: 10_000 });
  // Under the listeners' close deadline (CLOSE_DEADLINE_MS, 2 s): nothing was left open.
  assert.ok(slowestStopMs < 2_000, `slowest stop took ${slowestStopMs} ms`);
});
