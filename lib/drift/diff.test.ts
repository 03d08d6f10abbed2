import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DroverError } from "../errors/index.ts";
import { diffFileSets } from "./diff.ts";
import { configHash, manifestOf } from "./hash.ts";
import type { DesiredFile } from "./types.ts";

const segment = fc.stringMatching(/^[a-c]{1,2}$/);
const path = fc.array(segment, { minLength: 1, maxLength: 2 }).map((s) => s.join("/"));
const file: fc.Arbitrary<DesiredFile> = fc.record({
  path,
  mode: fc.constantFrom(0o600, 0o644, 0o755),
  content: fc.oneof(fc.uint8Array({ maxLength: 4 }), fc.string({ maxLength: 4 })),
});
// Small alphabets so that sets overlap: same paths with equal or different content and modes.
const fileSet = fc.uniqueArray(file, { selector: (f) => f.path, maxLength: 8 });

/** Applies a diff the way an agent would, in memory. */
function apply(held: readonly DesiredFile[], diff: ReturnType<typeof diffFileSets>) {
  const files = new Map(held.map((f) => [f.path, f]));
  for (const path of diff.remove) files.delete(path);
  for (const f of diff.write) files.set(f.path, f);
  return [...files.values()];
}

describe("diffFileSets", () => {
  test("writes new and changed files, removes stale ones, skips equal ones", () => {
    const held = [
      { path: "same", mode: 0o644, content: "1" },
      { path: "content", mode: 0o644, content: "old" },
      { path: "mode", mode: 0o644, content: "m" },
      { path: "stale", mode: 0o644, content: "s" },
    ];
    const desired = [
      { path: "same", mode: 0o644, content: new TextEncoder().encode("1") },
      { path: "content", mode: 0o644, content: "new" },
      { path: "mode", mode: 0o600, content: "m" },
      { path: "added", mode: 0o644, content: "a" },
    ];
    const diff = diffFileSets(manifestOf(held), desired);
    expect(diff.write.map((f) => f.path)).toEqual(["added", "content", "mode"]);
    expect(diff.remove).toEqual(["stale"]);
  });

  test("nothing to do when in sync", () => {
    const files = [{ path: "a", mode: 0o644, content: "1" }];
    expect(diffFileSets(manifestOf(files), files)).toEqual({ write: [], remove: [] });
  });

  test("accepts upper-case digests from an agent", () => {
    const files = [{ path: "a", mode: 0o644, content: "1" }];
    const reported = manifestOf(files).map((e) => ({ ...e, sha256: e.sha256.toUpperCase() }));
    expect(diffFileSets(reported, files).write).toEqual([]);
  });

  test("refuses duplicate desired paths", () => {
    const twice = [
      { path: "a", mode: 0o644, content: "1" },
      { path: "a", mode: 0o644, content: "2" },
    ];
    expect(() => diffFileSets([], twice)).toThrow(DroverError);
  });

  test("property: applying diff(manifestOf(a), b) to a yields b", () => {
    fc.assert(
      fc.property(fileSet, fileSet, (a, b) => {
        const result = apply(a, diffFileSets(manifestOf(a), b));
        expect(manifestOf(result)).toEqual(manifestOf(b));
        expect(configHash(result)).toBe(configHash(b));
      }),
      { numRuns: 500 },
    );
  });

  test("property: the diff is minimal — it never rewrites a file already in place", () => {
    fc.assert(
      fc.property(fileSet, fileSet, (a, b) => {
        const held = new Map(manifestOf(a).map((e) => [e.path, e]));
        const wanted = new Map(manifestOf(b).map((e) => [e.path, e]));
        const diff = diffFileSets(manifestOf(a), b);
        for (const f of diff.write) expect(wanted.get(f.path)).not.toEqual(held.get(f.path));
        for (const p of diff.remove) expect(wanted.has(p)).toBe(false);
      }),
    );
  });
});
