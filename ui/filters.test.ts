// Issue 11, web UI: the agents list's filters round-trip through the URL query; label text parsing.
import { describe, expect, test } from "bun:test";
import {
  decodeAgentFilters,
  encodeAgentFilters,
  formatLabels,
  formatPairs,
  matchesSearch,
  noAgentFilters,
  parseLabels,
  parsePairs,
} from "./filters.ts";

describe("agent filters in the URL", () => {
  test("no filters is no query", () => {
    expect(encodeAgentFilters(noAgentFilters)).toBe("");
    expect(decodeAgentFilters("")).toEqual(noAgentFilters);
  });

  test("round-trips every field, with characters that need escaping", () => {
    const filters = {
      state: "degraded",
      search: "pi & co",
      labels: "env=prod,role!=db",
      workspace: "w1",
    } as const;
    const query = encodeAgentFilters(filters);
    expect(query).toBe("?state=degraded&q=pi+%26+co&labels=env%3Dprod%2Crole%21%3Ddb&workspace=w1");
    expect(decodeAgentFilters(query)).toEqual(filters);
  });

  test("an unknown state reads as all", () => {
    expect(decodeAgentFilters("?state=sleeping").state).toBe("all");
  });
});

describe("matchesSearch", () => {
  const agent = {
    name: "pi-attic",
    hostname: "attic.lan",
    ip_address: "10.0.0.7",
    labels: { room: "attic" },
  };
  test("matches name, hostname, address and labels, ignoring case", () => {
    for (const text of ["", "PI-", "attic.lan", "10.0.0", "room=attic"])
      expect(matchesSearch(agent, text)).toBe(true);
    expect(matchesSearch(agent, "kitchen")).toBe(false);
  });
});

describe("labels text", () => {
  test("parses comma-separated key=value, trimming spaces and empty entries", () => {
    expect(parseLabels(" env = home, room=attic,, ")).toEqual({
      labels: { env: "home", room: "attic" },
    });
    expect(parseLabels("")).toEqual({ labels: {} });
  });

  test("an entry without a key names itself", () => {
    expect(parseLabels("env=home, attic")).toEqual({ error: '"attic" is not key=value' });
    expect(parseLabels("=x")).toEqual({ error: '"=x" is not key=value' });
  });

  test("formats back to the same text", () => {
    expect(formatLabels({ env: "home", room: "attic" })).toBe("env=home, room=attic");
  });
});

describe("key=value lines (workspace settings)", () => {
  test("one entry a line; a value keeps its own = and commas", () => {
    expect(parsePairs("gzip = on\n\n gzip_types=text/plain, text/css\nA=b=c", "\n")).toEqual({
      pairs: { gzip: "on", gzip_types: "text/plain, text/css", A: "b=c" },
    });
    expect(parsePairs("gzip on", "\n")).toEqual({ error: '"gzip on" is not key=value' });
  });

  test("formats back to the lines it parses", () => {
    const pairs = { client_max_body_size: "10m", gzip: "on" };
    expect(parsePairs(formatPairs(pairs, "\n"), "\n")).toEqual({ pairs });
  });
});
