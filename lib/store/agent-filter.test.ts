import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { tempStoreDir } from "../../test/support/store.ts";
import { matchesSelector, type Selector, type SelectorTerm } from "../selector/index.ts";
import { openBunSqlite } from "./driver-bun.ts";
import { openLibsql } from "./driver-libsql.ts";
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
const termArb: fc.Arbitrary<SelectorTerm> = fc.oneof(
  fc.record({
    key: fc.constantFrom(...keys),
    op: fc.constantFrom("=" as const, "!=" as const),
    value: fc.constantFrom(...values),
  }),
  fc.record({
    key: fc.constantFrom(...keys),
    op: fc.constantFrom("exists" as const, "!exists" as const),
  }),
);
const selectorArb: fc.Arbitrary<Selector> = fc.array(termArb, { maxLength: 3 });
const fleetArb = fc.array(fc.record({ labels: labelsArb, state: fc.constantFrom(...states) }), {
  maxLength: 25,
});

type Fleet = { labels: Record<string, string>; state: AgentState }[];

async function replaceFleet(store: Store, fleet: Fleet): Promise<string[]> {
  const t = new Date(0);
  const ids = fleet.map((_, i) => `agent-${String(i).padStart(3, "0")}`);
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
  });
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
              matchesSelector(selector, agent.labels) &&
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
