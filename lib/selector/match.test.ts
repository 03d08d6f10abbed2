import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DroverError } from "../errors/index.ts";
import { validateLabels } from "./labels.ts";
import { matchesSelector } from "./match.ts";
import { parseSelector } from "./parse.ts";

const labels = { zone: "eu", tier: "", "example.com/gpu": "a100" };
const matches = (text: string) => matchesSelector(parseSelector(text), labels);

describe("matchesSelector", () => {
  test("empty selector matches everything", () => {
    expect(matches("")).toBe(true);
    expect(matchesSelector([], {})).toBe(true);
  });

  test("= requires presence and equality", () => {
    expect(matches("zone=eu")).toBe(true);
    expect(matches("zone==eu")).toBe(true);
    expect(matches("zone=us")).toBe(false);
    expect(matches("missing=eu")).toBe(false);
    expect(matches("tier=")).toBe(true);
    expect(matches("missing=")).toBe(false);
  });

  test("!= matches when absent, like Kubernetes", () => {
    expect(matches("zone!=us")).toBe(true);
    expect(matches("zone!=eu")).toBe(false);
    expect(matches("missing!=eu")).toBe(true);
    expect(matches("tier!=")).toBe(false);
  });

  test("exists and !exists", () => {
    expect(matches("tier")).toBe(true);
    expect(matches("example.com/gpu")).toBe(true);
    expect(matches("missing")).toBe(false);
    expect(matches("!missing")).toBe(true);
    expect(matches("!zone")).toBe(false);
  });

  test("terms are ANDed", () => {
    expect(matches("zone=eu,example.com/gpu=a100")).toBe(true);
    expect(matches("zone=eu,!tier")).toBe(false);
  });

  test("prototype keys are not labels", () => {
    expect(matchesSelector(parseSelector("constructor"), {})).toBe(false);
    expect(matchesSelector(parseSelector("toString!=x"), {})).toBe(true);
  });

  test("property: k=v and k!=v are complementary", () => {
    const small = fc.constantFrom("a", "b", "c");
    fc.assert(
      fc.property(fc.dictionary(small, small), small, small, (l, k, v) => {
        const eq = matchesSelector([{ key: k, op: "=", value: v }], l);
        const ne = matchesSelector([{ key: k, op: "!=", value: v }], l);
        expect(eq).toBe(!ne);
      }),
    );
  });
});

describe("validateLabels", () => {
  test("accepts valid labels", () => {
    expect(() => validateLabels(labels)).not.toThrow();
    expect(() => validateLabels({})).not.toThrow();
  });

  test("lists each bad label under its field path", () => {
    try {
      validateLabels({ ok: "fine", "bad key": "v", k: "bad value" }, "agent.labels");
      throw new Error("expected rejection");
    } catch (error) {
      expect(error).toBeInstanceOf(DroverError);
      const e = error as DroverError;
      expect(e.code).toBe("invalid_argument");
      expect(e.details.map((d) => d.field)).toEqual(["agent.labels.bad key", "agent.labels.k"]);
    }
  });

  test("defaults the field to labels and rejects non-string values", () => {
    const bad = { n: 1 } as unknown as Record<string, string>;
    expect(() => validateLabels(bad)).toThrow("labels.n: value must be a string");
  });

  test("rejects non-objects", () => {
    expect(() => validateLabels(null as unknown as Record<string, string>)).toThrow(DroverError);
  });
});
