import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DroverError } from "../errors/index.ts";
import { formatSelector, parseLabelArg, parseSelector } from "./parse.ts";
import type { Selector, SelectorTerm } from "./types.ts";

const name = fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/);
const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
const prefix = fc.array(dnsLabel, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
const key = fc
  .tuple(fc.option(prefix, { nil: undefined }), name)
  .map(([p, n]) => (p === undefined ? n : `${p}/${n}`));
const value = fc.oneof(fc.constant(""), name);
const term: fc.Arbitrary<SelectorTerm> = fc.oneof(
  fc.record({ key, op: fc.constantFrom("=" as const, "!=" as const), value }),
  fc.record({ key, op: fc.constantFrom("exists" as const, "!exists" as const) }),
);
const selector: fc.Arbitrary<Selector> = fc.array(term, { maxLength: 6 });

function invalid(text: string): DroverError {
  try {
    parseSelector(text);
  } catch (error) {
    expect(error).toBeInstanceOf(DroverError);
    return error as DroverError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe("parseSelector", () => {
  test("empty and blank text is the empty selector", () => {
    expect(parseSelector("")).toEqual([]);
    expect(parseSelector("   ")).toEqual([]);
  });

  test("parses every operator", () => {
    expect(parseSelector("a=1, b==2 ,c!=3,d, !e,example.com/f=")).toEqual([
      { key: "a", op: "=", value: "1" },
      { key: "b", op: "=", value: "2" },
      { key: "c", op: "!=", value: "3" },
      { key: "d", op: "exists" },
      { key: "e", op: "!exists" },
      { key: "example.com/f", op: "=", value: "" },
    ]);
  });

  test("allows whitespace around operators", () => {
    expect(parseSelector(" zone = eu , ! gpu ")).toEqual([
      { key: "zone", op: "=", value: "eu" },
      { key: "gpu", op: "!exists" },
    ]);
  });

  test.each([
    ["a=b=c"],
    ["=v"],
    ["k=v;x"],
    ["k=a b"],
    ["a b=c"],
    ["a=1,,b=2"],
    ["a=1,"],
    [","],
    ["!"],
    ["!a=b"],
    ["a===b"],
    ["k=-v"],
    ["k=v-"],
    ["-k=v"],
    ["Example.com/k=v"],
    ["/k=v"],
    ["a/b/c=v"],
    ["k='v'"],
    ['k="v"'],
    ["k=v)"],
    [`${"k".repeat(64)}=v`],
    [`k=${"v".repeat(64)}`],
    [`${"p".repeat(254)}/k=v`],
    ["k=é"],
  ])("rejects %p naming the bad term", (text) => {
    const error = invalid(text);
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("invalid selector term");
    expect(error.details[0]?.field).toBe("selector");
  });

  test("names the bad term, not the whole selector", () => {
    expect(invalid("a=1,b=x;y,c=3").message).toContain('"b=x;y"');
  });

  test("accepts maximum lengths", () => {
    const k = `${"p".repeat(63)}.${"q".repeat(63)}/${"k".repeat(63)}`;
    expect(parseSelector(`${k}=${"v".repeat(63)}`)).toEqual([
      { key: k, op: "=", value: "v".repeat(63) },
    ]);
  });

  test("property: parse(format(s)) == s", () => {
    fc.assert(
      fc.property(selector, (s) => {
        expect(parseSelector(formatSelector(s))).toEqual(s);
      }),
    );
  });

  test("property: format(parse(text)) is a fixed point", () => {
    fc.assert(
      fc.property(selector, (s) => {
        const text = formatSelector(s);
        expect(formatSelector(parseSelector(text))).toBe(text);
      }),
    );
  });

  test("property: arbitrary text either parses to valid terms or throws DroverError", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        let parsed: Selector;
        try {
          parsed = parseSelector(text);
        } catch (error) {
          expect(error).toBeInstanceOf(DroverError);
          return;
        }
        // Whatever parsed must survive a round trip through the canonical form.
        expect(parseSelector(formatSelector(parsed))).toEqual(parsed);
      }),
    );
  });
});

describe("parseLabelArg", () => {
  test("splits on the first '='", () => {
    expect(parseLabelArg("zone=eu-1")).toEqual(["zone", "eu-1"]);
    expect(parseLabelArg("example.com/gpu=")).toEqual(["example.com/gpu", ""]);
  });

  test.each([["zone"], ["=eu"], ["a=b=c"], ["zone=e u"], ["zone =eu"]])("rejects %p", (text) => {
    expect(() => parseLabelArg(text)).toThrow(DroverError);
  });

  test("property: accepts every valid key and value", () => {
    fc.assert(
      fc.property(key, value, (k, v) => {
        expect(parseLabelArg(`${k}=${v}`)).toEqual([k, v]);
      }),
    );
  });
});
