import { beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import fc from "fast-check";
import { selectorArbitrary } from "../../test/support/selector-arbitrary.ts";
import { tempStoreDir } from "../../test/support/store.ts";
import { matchesSelector, type Selector } from "../selector/index.ts";
import { openBunSqlite } from "./driver-bun.ts";
import { openLibsql } from "./driver-libsql.ts";
import { migrate } from "./migrate.ts";
import { migrations } from "./migrations.gen.ts";
import { createStore } from "./store.ts";
import type { AgentState, Repositories, Store } from "./types.ts";

const { freshPath } = tempStoreDir("drover-filter-");

const drivers = [
  ["bun-sqlite", openBunSqlite, 1],
  ["libsql", openLibsql, 2],
] as const;

// Small alphabets so that random selectors actually hit random label sets;
// dotted and prefixed keys check the JSON path quoting.
const keys = ["zone", "tier", "a", "a.b", "example.com/gpu", "constructor"];
const values = ["", "eu", "us", "x-1"];
const states: AgentState[] = ["online", "offline", "degraded"];

const labelsArb = fc.dictionary(fc.constantFrom(...keys), fc.constantFrom(...values), {
  maxKeys: keys.length,
});
const selectorArb = selectorArbitrary(keys, values);
// relabel: labels set by agents.update after the insert (undefined: none).
const fleetArb = fc.array(
  fc.record({
    labels: labelsArb,
    state: fc.constantFrom(...states),
    relabel: fc.option(labelsArb, { nil: undefined }),
  }),
  { maxLength: 25 },
);

type Fleet = {
  labels: Record<string, string>;
  state: AgentState;
  relabel?: Record<string, string>;
}[];

/** The labels an agent of the fleet ends up with. */
function finalLabels(agent: Fleet[number]): Record<string, string> {
  return agent.relabel ?? agent.labels;
}

/**
 * Deletes every agent and inserts the fleet under the same ids as last time,
 * so label rows left behind by a delete would show; then relabels, half of
 * the agents outside the transaction (each update atomic on its own).
 */
async function replaceFleet(store: Store, fleet: Fleet): Promise<string[]> {
  const t = new Date(0);
  const ids = fleet.map((_, i) => `agent-${String(i).padStart(3, "0")}`);
  const relabel = async (agents: Repositories["agents"], i: number) => {
    const labels = fleet[i]?.relabel;
    if (labels !== undefined) await agents.update(ids[i] as string, { labels }, t);
  };
  await store.transaction(async (tx: Repositories) => {
    for (const row of await tx.agents.list({ limit: 1000 })) await tx.agents.delete(row.id);
    for (const [i, { labels, state }] of fleet.entries()) {
      await tx.agents.insert({
        id: ids[i] as string,
        name: "n",
        hostname: "h",
        ip: "10.0.0.1",
        version: "1",
        labels,
        capabilities: [],
        state,
        createdAt: t,
        updatedAt: t,
      });
    }
    for (let i = 0; i < fleet.length; i += 2) await relabel(tx.agents, i);
  });
  for (let i = 1; i < fleet.length; i += 2) await relabel(store.agents, i);
  return ids;
}

describe.each(drivers)("%s", (_driver, open, seed) => {
  let store: Store;
  beforeAll(async () => {
    store = await createStore(await open(freshPath()));
    return async () => store.close();
  });

  test("property: SQL selector filtering agrees with matchesSelector", async () => {
    await fc.assert(
      fc.asyncProperty(
        fleetArb,
        selectorArb,
        fc.option(fc.constantFrom(...states), { nil: undefined }),
        async (fleet, selector, state) => {
          const ids = await replaceFleet(store, fleet);
          const expected = ids.filter((_, i) => {
            const agent = fleet[i];
            return (
              agent !== undefined &&
              matchesSelector(selector, finalLabels(agent)) &&
              (state === undefined || agent.state === state)
            );
          });
          const listed = await store.agents.list({ selector, state, limit: 1000 });
          expect(listed.map((r) => r.id)).toEqual(expected);
          expect(await store.agents.count({ selector, state })).toBe(expected.length);
        },
      ),
      { numRuns: 150, seed },
    );
  });

  test("the agent_labels migration backfills the labels of existing agents", async () => {
    const opened = await open(freshPath());
    const before = migrations.findIndex((m) => m.tag === "0003_agent_labels");
    expect(before).toBeGreaterThan(0);
    await migrate(opened.db, migrations.slice(0, before));
    const fleet: Record<string, Record<string, string>> = {
      a: { zone: "eu", "example.com/gpu": "" },
      b: { zone: "us", tier: "web" },
      c: {},
    };
    for (const [id, labels] of Object.entries(fleet)) {
      await opened.db.run(
        sql`INSERT INTO agents (id, name, hostname, ip, version, labels, capabilities, state, created_at, updated_at)
            VALUES (${id}, 'n', 'h', '10.0.0.1', '1', ${JSON.stringify(labels)}, '[]', 'online', 0, 0)`,
      );
    }
    const migrated = await createStore(opened);
    try {
      const ids = async (selector: Selector) =>
        (await migrated.agents.list({ selector, limit: 10 })).map((r) => r.id);
      expect(await ids([{ key: "zone", op: "=", value: "eu" }])).toEqual(["a"]);
      expect(await ids([{ key: "example.com/gpu", op: "exists" }])).toEqual(["a"]);
      expect(await ids([{ key: "tier", op: "!=", value: "web" }])).toEqual(["a", "c"]);
      expect(await ids([{ key: "zone", op: "!exists" }])).toEqual(["c"]);
      expect(await migrated.agents.count({ selector: [{ key: "zone", op: "exists" }] })).toBe(2);
    } finally {
      await migrated.close();
    }
  });

  test("property: keyset pagination returns every match exactly once, in order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fleetArb,
        selectorArb,
        fc.integer({ min: 1, max: 7 }),
        async (fleet, selector, pageSize) => {
          await replaceFleet(store, fleet);
          const all = (await store.agents.list({ selector, limit: 1000 })).map((r) => r.id);
          const paged: string[] = [];
          let afterId: string | undefined;
          for (;;) {
            const page = await store.agents.list({ selector, limit: pageSize, afterId });
            expect(page.length).toBeLessThanOrEqual(pageSize);
            paged.push(...page.map((r) => r.id));
            if (page.length < pageSize) break;
            afterId = page[page.length - 1]?.id;
          }
          expect(paged).toEqual(all);
          expect(new Set(paged).size).toBe(paged.length);
        },
      ),
      { numRuns: 100, seed },
    );
  });
});
