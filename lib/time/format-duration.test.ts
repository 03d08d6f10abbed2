// Issue 14, durations as text ("30m") on the REST and CLI edges of leases: formatDuration is parseDuration's inverse.
import { expect, test } from "bun:test";
import { formatDuration, parseDuration } from "./index.ts";

test("formatDuration picks the largest unit that divides, and parseDuration reads it back", () => {
  const cases: Array<[number, string]> = [
    [1_800_000, "30m"],
    [5_400_000, "90m"],
    [7_200_000, "2h"],
    [86_400_000, "1d"],
    [90_000, "90s"],
    [1_500, "1500ms"],
    [0, "0ms"],
  ];
  for (const [ms, text] of cases) {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  }
});
