// Issue 11, web UI: the access log, metrics and events pages' filters round-trip through the URL; type patterns.
import { describe, expect, test } from "bun:test";
import {
  accessLogApiQuery,
  decodeAccessLogFilters,
  decodeEventFilters,
  encodeQuery,
  fromLocalInput,
  matchesTypes,
  metricsApiQuery,
  parseMetricWindow,
  toLocalInput,
  typePatterns,
} from "./observe-filters.ts";

describe("access log filters", () => {
  test("round-trip through the URL query, empty fields left out", () => {
    const filters = {
      workspace: "ws-1",
      from: "2025-01-02T03:04:00.000Z",
      to: "",
      host: "app.test & more",
      status: "404",
      limit: "",
    };
    const query = encodeQuery({ ...filters });
    expect(query).not.toContain("to=");
    expect(decodeAccessLogFilters(query)).toEqual(filters);
    expect(decodeAccessLogFilters("")).toEqual({
      workspace: "",
      from: "",
      to: "",
      host: "",
      status: "",
      limit: "",
    });
  });

  test("the API query names status_code and host, and defaults the limit", () => {
    const filters = decodeAccessLogFilters("?host=a.test&status=500&workspace=w");
    expect(accessLogApiQuery(filters)).toBe("?status_code=500&host=a.test&limit=100");
    expect(accessLogApiQuery(decodeAccessLogFilters("?workspace=w"))).toBe("?limit=100");
  });

  test("datetime-local values convert to instants and back", () => {
    const iso = "2025-06-01T10:30:00.000Z";
    expect(fromLocalInput(toLocalInput(iso))).toBe(iso);
    expect(toLocalInput("")).toBe("");
    expect(fromLocalInput("")).toBe("");
    expect(fromLocalInput("nonsense")).toBe("");
  });
});

describe("metrics windows", () => {
  test("unknown windows read as 24 hours; each asks for its own bucket size", () => {
    expect(parseMetricWindow(null)).toBe("24h");
    expect(parseMetricWindow("1h")).toBe("1h");
    const now = Date.parse("2025-06-01T12:00:00.000Z");
    const query = new URLSearchParams(metricsApiQuery("1h", now));
    expect(Object.fromEntries(query)).toEqual({
      from: "2025-06-01T11:00:00.000Z",
      to: "2025-06-01T12:00:00.000Z",
      interval: "1m",
    });
    expect(new URLSearchParams(metricsApiQuery("7d", now)).get("interval")).toBe("6h");
  });
});

describe("event type patterns", () => {
  test("a trailing .* is a prefix, anything else exact, no pattern matches all", () => {
    const patterns = typePatterns(" agent.* , config.applied,,");
    expect(patterns).toEqual(["agent.*", "config.applied"]);
    expect(matchesTypes("agent.connected", patterns)).toBe(true);
    expect(matchesTypes("config.applied", patterns)).toBe(true);
    expect(matchesTypes("config.failed", patterns)).toBe(false);
    expect(matchesTypes("agentx.thing", patterns)).toBe(false);
    expect(matchesTypes("anything", [])).toBe(true);
    expect(decodeEventFilters("?types=agent.*&workspace=w")).toEqual({
      types: "agent.*",
      workspace: "w",
    });
  });
});
