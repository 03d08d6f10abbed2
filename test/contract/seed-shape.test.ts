// Issue 10, NxMesh fidelity: the contract test's shape check finds each kind of departure from a seed example.
import { describe, expect, test } from "bun:test";
import { shapeMismatches } from "./seed-shape.ts";

const seed = {
  data: [
    { id: "a1", state: "online", labels: { env: "prod" }, created_at: "2026-01-15T10:30:00Z" },
  ],
  meta: { page: 1, total: 1 },
};
const rules = { enums: { "data[].state": ["online", "offline"] }, maps: ["data[].labels"] };
const agent = {
  id: "ag-1",
  state: "offline",
  labels: { tier: "web" },
  created_at: "2026-12-05T08:00:00.123Z",
};

describe("shapeMismatches", () => {
  test("accepts the seed's fields with the seed's types, extras, other map keys and empty lists", () => {
    const answer = {
      data: [agent, { ...agent, extra: true }],
      meta: { page: 2, total: 0, more: 1 },
    };
    expect(shapeMismatches(seed, answer, rules)).toEqual([]);
    expect(shapeMismatches(seed, { data: [], meta: { page: 1, total: 0 } }, rules)).toEqual([]);
  });

  test("names every missing field, wrong type, bad timestamp, value outside the seed's list and map value", () => {
    const answer = {
      data: [{ id: 7, state: "lost", labels: { env: 1 }, created_at: "yesterday" }],
      meta: { page: "1" },
    };
    expect(shapeMismatches(seed, answer, rules)).toEqual([
      "data[].id: number 7, the seed has a string",
      'data[].state: "lost" is not one of the seed\'s online, offline',
      "data[].labels.env: number 1, the seed has a string",
      'data[].created_at: "yesterday" is not an ISO timestamp like the seed\'s "2026-01-15T10:30:00Z"',
      'meta.page: string "1", the seed has a number',
      "meta.total: missing (the seed has a number)",
    ]);
  });

  test("null is a mismatch unless the field is declared nullable", () => {
    const answer = { data: [{ ...agent, created_at: null }], meta: { page: 1, total: 1 } };
    expect(shapeMismatches(seed, answer, rules)).toEqual([
      "data[].created_at: null, the seed has a string",
    ]);
    expect(shapeMismatches(seed, answer, { ...rules, nullable: ["data[].created_at"] })).toEqual(
      [],
    );
  });
});
