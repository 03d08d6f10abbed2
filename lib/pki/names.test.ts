import { describe, expect, test } from "bun:test";
import { DroverError } from "../errors/index.ts";
import { normalizeHostname, normalizeIp } from "./names.ts";

describe("SAN name normalisation", () => {
  test.each([
    ["127.0.0.1", "127.0.0.1"],
    ["::", "0000:0000:0000:0000:0000:0000:0000:0000"],
    ["::1", "0000:0000:0000:0000:0000:0000:0000:0001"],
    ["FE80::1:2", "fe80:0000:0000:0000:0000:0000:0001:0002"],
    ["1:2:3:4:5:6:7:8", "0001:0002:0003:0004:0005:0006:0007:0008"],
    ["1::", "0001:0000:0000:0000:0000:0000:0000:0000"],
    ["::ffff:10.0.0.1", "0000:0000:0000:0000:0000:ffff:0a00:0001"],
    ["::1.2.3.4", "0000:0000:0000:0000:0000:0000:0102:0304"],
    ["1:2:3:4:5:6:1.2.3.4", "0001:0002:0003:0004:0005:0006:0102:0304"],
  ])("normalizeIp(%s)", (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  test.each([
    "",
    "1.2.3.4.5",
    "1.2.3.256",
    "1.2.3.04",
    ":1::",
    "1:::2",
    "1::2::3",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7::8",
    "::1.2.3",
    ":1.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4",
    "12345::",
    "g::",
    "::1%lo",
  ])("normalizeIp rejects %p", (input) => {
    expect(() => normalizeIp(input)).toThrow(DroverError);
  });

  test("hostnames are lowercased, trailing dot dropped, wildcard only leftmost", () => {
    expect(normalizeHostname("Drover.Example.")).toBe("drover.example");
    expect(normalizeHostname("*.lab.example")).toBe("*.lab.example");
    expect(normalizeHostname("xn--bcher-kva.example")).toBe("xn--bcher-kva.example");
    for (const bad of ["*", "a.*.b", "a-.b", "a..b", `${"a".repeat(64)}.b`, "bücher.example"]) {
      expect(() => normalizeHostname(bad)).toThrow(DroverError);
    }
  });
});
