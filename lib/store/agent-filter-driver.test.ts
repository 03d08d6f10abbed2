// Issue 13, REST filtered list of 10k agents under heartbeat load: the selector's driving term is the smallest candidate, and answers are unchanged.

import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { selectorArbitrary } from "../../test/support/selector-arbitrary.ts";
import { tempStoreDir } from "../../test/support/store.ts";
import { matchesSelector, parseSelector } from "../selector/index.ts";
import { chooseDriver } from "./agent-filter.ts";
import type { StoreDb } from "./db.ts";
import { openBunSqlite } from "./driver-bun.ts";
import { openLibsql } from "./driver-libsql.ts";
import { createStore } from "./store.ts";
import type { Store } from "./types.ts";

const { freshPath } = tempStoreDir("drover-driver-");
const drivers = [
  ["bun-sqlite", openBunSqlite, 3],
  ["libsql", openLibsql, 4],
] as const;
const at = new Date(0);
const workspaces = ["ws-a", "ws-b"] as const;

async function addWorkspaces(store: Store): Promise<void> {
  await store.organizations.insert({
    id: "org",
    name: "o",
    slug: "o",
    createdAt: at,
    updatedAt: at,
  });
  for (const id of workspaces)
    await store.workspaces.insert({
      id,
      organizationId: "org",
      name: id,
      slug: id,
      createdAt: at,
      updatedAt: at,
    });
}

async function insertAgent(
  store: Store,
  id: string,
  labels: Record<string, string>,
  workspaceId: string | null,
): Promise<void> {
  await store.agents.insert({
    id,
    name: id,
    hostname: `${id}.example`,
    ip: "10.0.0.1",
    version: "1",
    labels,
    capabilities: [],
    state: "online",
    createdAt: at,
    updatedAt: at,
    workspaceId,
  });
}

describe.each(drivers)("%s", (_name, open, _seed) => {
  let store: Store;
  let db: StoreDb;
  beforeAll(async () => {
    const opened = await open(freshPath());
    db = opened.db;
    store = await createStore(opened);
    await addWorkspaces(store);
    return async () => store.close();
  });

  test("the smallest candidate drives, whatever the selector's order; ties keep it", async () => {
    // 40 agents: zone=c on 4, tier=web on 20, gpu on 2; ws-a holds 30, ws-b 3.
    for (let i = 0; i < 40; i++) {
      const labels: Record<string, string> = { zone: i % 10 === 0 ? "c" : "x" };
      if (i % 2 === 0) labels.tier = "web";
      if (i < 2) labels.gpu = "";
      await insertAgent(
        store,
        `ag-${String(i).padStart(2, "0")}`,
        labels,
        i < 30 ? "ws-a" : i < 33 ? "ws-b" : null,
      );
    }
    const driver = (text: string, workspaceId?: string) =>
      chooseDriver(db, { selector: parseSelector(text), workspaceId });
    expect(await driver("tier=web,zone=c")).toBe(1);
    expect(await driver("zone=c,tier=web")).toBe(0);
    // `exists` competes too: gpu (2 agents) beats zone=c (4).
    expect(await driver("zone=c,gpu")).toBe(1);
    // A workspace of 3 beats every term; one of 30 does not beat zone=c.
    expect(await driver("tier=web,zone=c", "ws-b")).toBeUndefined();
    expect(await driver("tier=web,zone=c", "ws-a")).toBe(1);
    // Negative terms never drive; one candidate needs no probe.
    expect(await driver("tier!=web,!gpu")).toBeUndefined();
    expect(await driver("tier!=web,zone=x")).toBe(1);
    // zone=x (36 agents) counted up to tier=web's 20 ties with it: the caller's order.
    expect(await driver("tier=web,zone=x")).toBe(0);
    expect(await driver("zone=nowhere,tier=web")).toBe(0);
    // Invalid terms still fail, naming the term as given.
    await expect(
      chooseDriver(db, {
        selector: [
          { key: "zone", op: "=", value: "c" },
          { key: "bad key", op: "exists" },
        ],
      }),
    ).rejects.toThrow("selector[1].key");
  });
});

describe.each(drivers)("%s, random fleets in workspaces", (_name, open, seed) => {
  let store: Store;
  beforeAll(async () => {
    store = await createStore(await open(freshPath()));
    await addWorkspaces(store);
    return async () => store.close();
  });

  const keys = ["zone", "tier", "gpu"];
  const values = ["a", "b", ""];
  const fleetArb = fc.array(
    fc.record({
      labels: fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), { maxKeys: 3 }),
      workspace: fc.constantFrom<string | null>(...workspaces, null),
    }),
    { maxLength: 30 },
  );
  const selectorArb = selectorArbitrary(keys, values);

  test("property: a workspace's filtered page and count agree with matchesSelector, whichever condition drives", async () => {
    await fc.assert(
      fc.asyncProperty(
        fleetArb,
        selectorArb,
        fc.constantFrom<string | undefined>(...workspaces, undefined),
        fc.integer({ min: 0, max: 5 }),
        async (fleet, selector, workspaceId, offset) => {
          for (const row of await store.agents.list({ limit: 1000 }))
            await store.agents.delete(row.id);
          const ids = fleet.map((_, i) => `ag-${String(i).padStart(2, "0")}`);
          for (const [i, agent] of fleet.entries())
            await insertAgent(store, ids[i] as string, agent.labels, agent.workspace);
          const expected = ids.filter((_, i) => {
            const agent = fleet[i];
            return (
              agent !== undefined &&
              matchesSelector(selector, agent.labels) &&
              (workspaceId === undefined || agent.workspace === workspaceId)
            );
          });
          const filter = { selector, workspaceId };
          const page = await store.agents.list({ ...filter, limit: 4, offset });
          expect(page.map((r) => r.id)).toEqual(expected.slice(offset, offset + 4));
          expect(await store.agents.count(filter)).toBe(expected.length);
        },
      ),
      { numRuns: 60, seed },
    );
  });
});
