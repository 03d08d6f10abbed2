import { describe, expect, test } from "bun:test";
import { DroverError } from "../errors/index.ts";
import { renewalDue, renewalTime } from "./index.ts";

const day = 86_400_000;
const start = new Date("2030-01-01T00:00:00Z");
const at = (days: number) => new Date(start.getTime() + days * day);

describe("renewalDue", () => {
  test("a 90-day certificate renews at day 60 (2/3, which is also 30 days before expiry)", () => {
    expect(renewalTime(start, at(90))).toEqual(at(60));
    expect(renewalDue(start, at(90), at(59.99))).toBe(false);
    expect(renewalDue(start, at(90), at(60))).toBe(true);
  });

  test("a long certificate renews at 2/3 of its lifetime, well before the last 30 days", () => {
    expect(renewalTime(start, at(365))).toEqual(new Date(start.getTime() + (365 * day * 2) / 3));
  });

  test("a large fraction is capped by the 30-day window", () => {
    expect(renewalTime(start, at(365), { fraction: 0.95 })).toEqual(at(335));
    expect(renewalTime(start, at(365), { fraction: 0.5 })).toEqual(at(182.5));
  });

  test("short-lived certificates are not due at issuance", () => {
    // 6-day certificates: renew at day 4, not immediately.
    expect(renewalTime(start, at(6))).toEqual(at(4));
    expect(renewalDue(start, at(6), at(0))).toBe(false);
    expect(renewalDue(start, at(6), at(4))).toBe(true);
    // 45 days: renew at day 30, and the window never reaches back before 2/3.
    expect(renewalTime(start, at(45), { fraction: 0.9 })).toEqual(at(30));
  });

  test("before notBefore (skew) not due; after expiry due", () => {
    expect(renewalDue(start, at(90), at(-1))).toBe(false);
    expect(renewalDue(start, at(90), at(91))).toBe(true);
  });

  test("bad input is invalid_argument", () => {
    const bad: [Date, Date, Date, { fraction?: number }][] = [
      [start, start, start, {}],
      [at(1), start, start, {}],
      [new Date(Number.NaN), at(90), start, {}],
      [start, at(90), new Date(Number.NaN), {}],
      [start, at(90), start, { fraction: 0 }],
      [start, at(90), start, { fraction: 1 }],
      [start, at(90), start, { fraction: Number.NaN }],
    ];
    for (const [notBefore, notAfter, now, policy] of bad) {
      expect(() => renewalDue(notBefore, notAfter, now, policy)).toThrow(DroverError);
    }
  });
});
