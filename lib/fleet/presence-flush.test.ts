// Issue 13, REST list under heartbeat load: a flush writes its rows a chunk per statement and lets other store users in between.

import { afterEach, beforeEach, expect, test } from "bun:test";
import { insertAgents } from "../../test/support/agent-rows.ts";
import { healthReport } from "../../test/support/health-report.ts";
import { openStore, type Store } from "../store/index.ts";
import { createPresence, flushChunkRows } from "./presence.ts";

const agentCount = flushChunkRows * 2 + 10;
const at = new Date(Date.UTC(2026, 0, 1));
const seenAt = new Date(at.getTime() + 5_000);
let store: Store;
let ids: string[];
/** Each writeHeartbeats call's row count, in order. */
let statements: number[];

beforeEach(async () => {
  store = await openStore({ path: ":memory:" });
  ids = Array.from({ length: agentCount }, (_, i) => `ag-${String(i).padStart(4, "0")}`);
  await insertAgents(store, ids, at, "online");
  statements = [];
  const write = store.agents.writeHeartbeats.bind(store.agents);
  store.agents.writeHeartbeats = (rows) => {
    statements.push(rows.length);
    return write(rows);
  };
});

afterEach(async () => {
  await store.close();
});

const noteAll = (presence: ReturnType<typeof createPresence>) => {
  for (const id of ids)
    presence.note({ id, lastSeenAt: seenAt, lastHealth: healthReport(seenAt, 7) });
};

test("a flush writes every row, a chunk per statement, and a read queued meanwhile runs between chunks", async () => {
  const presence = createPresence(store);
  noteAll(presence);
  const flushing = presence.flush();
  // Queued on the writer lock behind the first chunk only.
  const read = store.agents.get(ids[0] as string).then(() => statements.length);
  expect(await read).toBe(1);
  expect(await flushing).toBe(agentCount);
  expect(statements).toEqual([flushChunkRows, flushChunkRows, 10]);
  const rows = await store.agents.list({ limit: agentCount });
  expect(rows.every((row) => row.lastSeenAt?.getTime() === seenAt.getTime())).toBe(true);
  expect(await presence.flush()).toBe(0);
});

test("a chunk that fails leaves it and the chunks after it pending for the next flush", async () => {
  const presence = createPresence(store);
  noteAll(presence);
  // A simulated failure of the second statement (the disk full, the store closing).
  const write = store.agents.writeHeartbeats;
  store.agents.writeHeartbeats = (rows) => {
    if (statements.length === 1) {
      statements.push(rows.length);
      return Promise.reject(new Error("simulated write failure"));
    }
    return write(rows);
  };
  await expect(presence.flush()).rejects.toThrow("simulated write failure");
  const written = await store.agents.list({ limit: agentCount });
  expect(written.filter((row) => row.lastSeenAt !== null)).toHaveLength(flushChunkRows);
  expect(await presence.flush()).toBe(agentCount - flushChunkRows);
  const rows = await store.agents.list({ limit: agentCount });
  expect(rows.every((row) => row.lastSeenAt?.getTime() === seenAt.getTime())).toBe(true);
});
