// Issue 13, heartbeats: many agents' last reports written in one statement, on both SQLite drivers.

import { beforeEach, describe, expect, test } from "bun:test";
import { drivers, tempStoreDir } from "../../test/support/store.ts";
import { t0 } from "../../test/support/store-data.ts";
import { createStore } from "./store.ts";
import type { Store } from "./types.ts";

const { freshPath } = tempStoreDir("drover-heartbeats-");
const at = (ms: number) => new Date(t0.getTime() + ms);

describe.each(drivers)("%s", (_driver, open) => {
  let store: Store;
  beforeEach(async () => {
    store = await createStore(await open(freshPath()));
    for (const id of ["a1", "a2", "a3"]) {
      await store.agents.insert({
        id,
        name: id,
        hostname: `${id}.lan`,
        ip: "10.0.0.1",
        version: "1.0.0",
        labels: {},
        capabilities: [],
        state: id === "a3" ? "degraded" : "online",
        createdAt: t0,
        updatedAt: t0,
      });
    }
    return async () => store.close();
  });

  test("writes last seen, last health and updated at of every row given, and leaves state alone", async () => {
    const health = (cpuPercent: number) => ({
      cpuPercent,
      checks: [{ name: "disk", ok: true, message: 'quote " and ünïcode' }],
      nested: { loadAverage: [0.5, 0.25, 0] },
    });
    const written = await store.agents.writeHeartbeats([
      { id: "a1", lastSeenAt: at(1000), lastHealth: health(1) },
      { id: "a3", lastSeenAt: at(3000), lastHealth: health(3) },
      { id: "gone", lastSeenAt: at(4000), lastHealth: health(4) },
    ]);
    expect(written).toBe(2);
    expect(await store.agents.get("a1")).toMatchObject({
      lastSeenAt: at(1000),
      updatedAt: at(1000),
      lastHealth: health(1),
      state: "online",
    });
    expect(await store.agents.get("a3")).toMatchObject({
      lastSeenAt: at(3000),
      lastHealth: health(3),
      state: "degraded",
    });
    expect(await store.agents.get("a2")).toMatchObject({ lastSeenAt: null, lastHealth: null });
    expect(await store.agents.writeHeartbeats([])).toBe(0);
  });

  test("inside a transaction, a failure rolls the heartbeats back with everything else", async () => {
    const failed = store.transaction(async (tx) => {
      await tx.agents.writeHeartbeats([
        { id: "a1", lastSeenAt: at(1), lastHealth: { cpuPercent: 9 } },
      ]);
      throw new Error("later step failed");
    });
    await expect(failed).rejects.toThrow("later step failed");
    expect((await store.agents.get("a1"))?.lastHealth).toBeNull();
  });
});
