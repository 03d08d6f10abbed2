// Issue 13, bounded caches (compiled statements, digests of long strings): the least recently used goes first.
import { expect, test } from "bun:test";
import { createLru } from "./index.ts";

test("keeps at most max entries and evicts the least recently used", () => {
  const lru = createLru<string, number>(2);
  lru.set("a", 1);
  lru.set("b", 2);
  expect(lru.get("a")).toBe(1); // a is now the most recent
  lru.set("c", 3);
  expect(lru.size).toBe(2);
  expect(lru.get("b")).toBeUndefined();
  expect(lru.get("a")).toBe(1);
  expect(lru.get("c")).toBe(3);
  lru.set("c", 4);
  expect(lru.get("c")).toBe(4);
  expect(lru.size).toBe(2);
});
