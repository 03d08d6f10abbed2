import { describe, expect, test } from "bun:test";
import { posix } from "node:path";
import fc from "fast-check";
import { checkFileSet, modeProblem, pathProblem } from "./paths.ts";

/** Test titles stay readable for long and invisible inputs. */
function label(path: string): string {
  const shown = JSON.stringify(path.length > 24 ? `${path.slice(0, 12)}…` : path);
  return path.length > 24 ? `${shown} (${path.length} chars)` : shown;
}

describe("pathProblem", () => {
  const accepted = [
    "a",
    "a/b/c.conf",
    ".hidden",
    "..dots",
    "a/...b",
    "ünïcode/😀",
    "x".repeat(255),
    Array(200).fill("abcd").join("/"),
  ];
  test.each(accepted.map((path) => [label(path), path]))("accepts %s", (_, path) => {
    expect(pathProblem(path)).toBeUndefined();
  });

  const refused: Array<[path: string, reason: string]> = [
    ["", "non-empty"],
    ["/etc/passwd", "relative"],
    ["../x", "`..`"],
    ["a/../../x", "`..`"],
    ["a/./b", "`.`"],
    [".", "`.`"],
    ["a//b", "empty segments"],
    ["a/", "empty segments"],
    ["a\\b", "backslashes"],
    ["..\\x", "backslashes"],
    ["a\u0000b", "control"],
    ["a\nb", "control"],
    ["a\u007fb", "control"],
    ["a\u0085b", "control"],
    ["a\ud800b", "well-formed"],
    ["x".repeat(256), "255 bytes"],
    ["é".repeat(128), "255 bytes"],
    [Array(300).fill("abcd").join("/"), "1024 bytes"],
  ];
  test.each(refused.map(([path, reason]) => [label(path), path, reason]))(
    "refuses %s",
    (_, path, reason) => {
      expect(pathProblem(path)).toContain(reason);
    },
  );

  test("refuses non-strings", () => {
    expect(pathProblem(undefined)).toBeDefined();
    expect(pathProblem(42)).toBeDefined();
  });

  test("property: an accepted path is its own normal form and stays under any root", () => {
    const piece = fc.constantFrom("a", "b", ".", "..", "/", "\\", "\u0000", "é", "😀", " ", "-");
    const candidate = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.array(piece, { maxLength: 12 }).map((p) => p.join("")),
    );
    fc.assert(
      fc.property(candidate, (path) => {
        if (pathProblem(path) !== undefined) return;
        expect(posix.normalize(path)).toBe(path);
        const target = posix.resolve("/root/files", path);
        expect(target.startsWith("/root/files/")).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("modeProblem", () => {
  test.each([[0o400], [0o600], [0o644], [0o755], [0o777]])("accepts %o", (mode) => {
    expect(modeProblem(mode)).toBeUndefined();
  });
  test.each([[0o4755], [0o2755], [0o1777], [0o377], [0], [-1], [6.44], [Number.NaN]])(
    "refuses %o",
    (mode) => {
      expect(modeProblem(mode)).toBeDefined();
    },
  );
});

describe("checkFileSet", () => {
  test("names every bad file by index", () => {
    const violations = checkFileSet([
      { path: "ok", mode: 0o644 },
      { path: "../x", mode: 0o644 },
      { path: "ok", mode: 0o4755 },
    ]);
    expect(violations.map((v) => v.field)).toEqual([
      "files[1].path",
      "files[2].path",
      "files[2].mode",
    ]);
  });

  test("refuses a file that another file needs as its directory", () => {
    const violations = checkFileSet(
      [
        { path: "a/b/c", mode: 0o644 },
        { path: "a/b", mode: 0o644 },
      ],
      "batch",
    );
    expect(violations).toEqual([
      { field: "batch[0].path", message: expect.stringContaining("a/b") },
    ]);
  });
});
