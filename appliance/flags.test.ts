// Issue 10, the first hour: usage mistakes name the flag and suggest the one meant.
import { describe, expect, test } from "bun:test";
import { type FlagSpec, parseFlags, UsageError } from "./flags.ts";
import { closestName } from "./suggest.ts";

const spec = {
  "data-dir": { kind: "string", required: true, value: "DIR", help: "d" },
  label: { kind: "list", help: "l" },
  json: { kind: "boolean", help: "j" },
  output: { kind: "string", short: "o", default: "table", help: "o" },
} satisfies FlagSpec;

function mistake(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseFlags(spec, argv, env);
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error("no usage mistake");
}

describe("parseFlags", () => {
  test("reads flags, lists, short flags and the environment", () => {
    const { flags, positionals } = parseFlags(
      spec,
      ["--label", "a=1", "-ojson", "id", "--label=b=2", "--", "--json"],
      { DROVER_DATA_DIR: "/d" },
    );
    expect(flags).toEqual({ "data-dir": "/d", label: ["a=1", "b=2"], json: false, output: "json" });
    expect(positionals).toEqual(["id", "--json"]);
    expect(parseFlags(spec, ["--data-dir", "/a", "-o", "table"], {}).flags.output).toBe("table");
  });

  test("mistakes name the flag and suggest the one meant", () => {
    expect(mistake(["--data-dri", "/d"])).toBe("unknown flag --data-dri; did you mean --data-dir?");
    expect(mistake(["--data", "/d"])).toBe("unknown flag --data; did you mean --data-dir?");
    expect(mistake(["--data-dir", "/d", "-x"])).toBe("unknown flag -x");
    expect(mistake(["--data-dir"])).toBe("--data-dir needs a value (DIR)");
    expect(mistake(["--data-dir", "--json"])).toBe("--data-dir needs a value (DIR)");
    expect(mistake(["--data-dir", "/d", "--json=yes"])).toBe("--json takes no value");
    expect(mistake([])).toBe("--data-dir is required (or set DROVER_DATA_DIR)");
  });
});

describe("closestName", () => {
  test("within two edits, fewer than the name's letters, or the only longer name", () => {
    const names = ["create", "revoke", "ca", "data-dir", "delete"];
    expect(closestName("crate", names)).toBe("create");
    expect(closestName("revok", names)).toBe("revoke");
    expect(closestName("x", names)).toBeUndefined();
    expect(closestName("data", names)).toBe("data-dir");
    expect(closestName("d", names)).toBeUndefined();
    expect(closestName("frobnicate", names)).toBeUndefined();
  });
});
