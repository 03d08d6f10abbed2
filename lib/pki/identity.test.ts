import { describe, expect, test } from "bun:test";
import { DroverError } from "../errors/index.ts";
import { identityUri, parseIdentityUri } from "./index.ts";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof DroverError ? error.code : `non-DroverError: ${String(error)}`;
  }
  return undefined;
}

describe("identity URIs", () => {
  test("round-trip", () => {
    const identity = { fleetId: "fleet-0a1b2c3d", role: "operator", id: "alice-2" } as const;
    const uri = identityUri(identity);
    expect(uri).toBe("drover://fleet-0a1b2c3d/operator/alice-2");
    expect(parseIdentityUri(uri)).toEqual(identity);
    expect(parseIdentityUri("drover://f/agent/0")).toEqual({
      fleetId: "f",
      role: "agent",
      id: "0",
    });
  });

  test("accepts 63-character ids, not 64", () => {
    const id63 = `a${"b".repeat(62)}`;
    expect(parseIdentityUri(`drover://f/agent/${id63}`).id).toBe(id63);
    expect(codeOf(() => parseIdentityUri(`drover://f/agent/${id63}b`))).toBe("invalid_argument");
  });

  test.each([
    ["wrong scheme", "https://fleet-1/agent/pi"],
    ["scheme case", "DROVER://fleet-1/agent/pi"],
    ["uppercase id", "drover://fleet-1/agent/Pi"],
    ["uppercase fleet", "drover://Fleet-1/agent/pi"],
    ["uppercase role", "drover://fleet-1/Agent/pi"],
    ["extra path segment", "drover://fleet-1/agent/pi/extra"],
    ["trailing slash", "drover://fleet-1/agent/pi/"],
    ["missing id", "drover://fleet-1/agent"],
    ["bad role", "drover://fleet-1/admin/pi"],
    ["leading hyphen", "drover://fleet-1/agent/-pi"],
    ["dot", "drover://fleet-1/agent/pi.local"],
    ["percent escape", "drover://fleet-1/agent/p%69"],
    ["query", "drover://fleet-1/agent/pi?x=1"],
    ["userinfo", "drover://u@fleet-1/agent/pi"],
    ["port", "drover://fleet-1:1/agent/pi"],
    ["whitespace", " drover://fleet-1/agent/pi"],
    ["newline", "drover://fleet-1/agent/pi\n"],
    ["empty", ""],
  ])("parseIdentityUri rejects %s", (_label, uri) => {
    expect(codeOf(() => parseIdentityUri(uri))).toBe("invalid_argument");
  });

  test("identityUri refuses identities it could not parse back", () => {
    expect(codeOf(() => identityUri({ fleetId: "Fleet", role: "agent", id: "pi" }))).toBe(
      "invalid_argument",
    );
    expect(codeOf(() => identityUri({ fleetId: "f", role: "admin" as "agent", id: "pi" }))).toBe(
      "invalid_argument",
    );
    expect(codeOf(() => identityUri({ fleetId: "f", role: "agent", id: "a/b" }))).toBe(
      "invalid_argument",
    );
  });
});
