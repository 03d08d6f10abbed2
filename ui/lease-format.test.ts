// Issue 14, web UI: the lease queue's countdown, expiry warning, driver names and holder words.
import { describe, expect, test } from "bun:test";
import { clientText, countdownText, driverName, expiringText } from "./lease-format.ts";

const end = "2026-03-01T12:00:00.000Z";
const before = (ms: number) => Date.parse(end) - ms;

describe("countdownText", () => {
  test("minutes and seconds under an hour, hours from an hour on", () => {
    expect(countdownText(end, before(30 * 60_000))).toBe("30:00");
    expect(countdownText(end, before(29 * 60_000 + 59_500))).toBe("29:59");
    expect(countdownText(end, before(45 * 60_000 + 1000))).toBe("45:01");
    expect(countdownText(end, before(75 * 60_000))).toBe("1:15:00");
    expect(countdownText(end, before(9_000))).toBe("0:09");
  });

  test("a lease past its end reads 0:00, never a negative time", () => {
    expect(countdownText(end, before(-5000))).toBe("0:00");
  });
});

describe("expiringText", () => {
  test("rounds to minutes, and says seconds in the last minute", () => {
    expect(expiringText(end, before(5 * 60_000))).toBe("Expiring: ends in 5 min unless extended");
    expect(expiringText(end, before(42_000))).toBe("Expiring: ends in 42 s unless extended");
  });
});

describe("driverName", () => {
  const report = { uuid: "u-1", parent_uuid: null, labels: {}, methods_description: {} };
  test("the Jumpstarter name label first, then the description, then the uuid", () => {
    expect(
      driverName({ ...report, labels: { "jumpstarter.dev/name": "power" }, description: "relay" }),
    ).toBe("power");
    expect(driverName({ ...report, description: "relay" })).toBe("relay");
    expect(driverName({ ...report, description: null })).toBe("u-1");
  });
});

describe("clientText", () => {
  const emails = new Map([["usr-2", "bo@lab.test"]]);
  test("the signed-in person is you; a member by email; anyone else as the API names them", () => {
    expect(clientText("user:usr-1", emails, "usr-1")).toBe("you");
    expect(clientText("user:usr-2", emails, "usr-1")).toBe("bo@lab.test");
    expect(clientText("user:usr-3", emails, "usr-1")).toBe("user:usr-3");
    expect(clientText("operator:0a1b", emails, undefined)).toBe("operator:0a1b");
  });
});
