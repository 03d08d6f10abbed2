// Issue 11, web UI: the router's matching of history-API paths (deep links) and the safe `next`.
import { describe, expect, test } from "bun:test";
import { matchRoute, safeNextPath } from "./route-match.ts";

const routes = [
  ["overview", "/"],
  ["agents", "/agents"],
  ["add", "/agents/new"],
  ["agent", "/agents/:id"],
] as const;

describe("matchRoute", () => {
  test("matches the root, static paths and trailing slashes", () => {
    expect(matchRoute(routes, "/")).toEqual({ key: "overview", params: {} });
    expect(matchRoute(routes, "/agents")).toEqual({ key: "agents", params: {} });
    expect(matchRoute(routes, "/agents/")).toEqual({ key: "agents", params: {} });
  });

  test("the first pattern wins, so /agents/new is not an agent id", () => {
    expect(matchRoute(routes, "/agents/new")?.key).toBe("add");
  });

  test("a parameter takes one decoded segment", () => {
    expect(matchRoute(routes, "/agents/a%20b")).toEqual({ key: "agent", params: { id: "a b" } });
    expect(matchRoute(routes, "/agents/x/y")).toBeNull();
    expect(matchRoute(routes, "/nowhere")).toBeNull();
  });

  test("a malformed escape matches nothing instead of throwing", () => {
    expect(matchRoute(routes, "/agents/%E0%A4%A")).toBeNull();
  });
});

describe("safeNextPath", () => {
  test("keeps a path of this origin with its query", () => {
    expect(safeNextPath("/agents?state=online")).toBe("/agents?state=online");
  });

  test("refuses other origins and missing values", () => {
    for (const next of [
      null,
      "",
      "https://evil.example/",
      "//evil.example/x",
      "/\\evil.example",
      "agents",
    ])
      expect(safeNextPath(next)).toBe("/");
  });
});
