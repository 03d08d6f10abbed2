import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { DroverError } from "../errors/index.ts";
import {
  comparePaths,
  configHash,
  contentSha256,
  isDrifted,
  manifestHash,
  manifestOf,
} from "./hash.ts";
import type { DesiredFile } from "./types.ts";

const segment = fc.stringMatching(/^[a-z0-9._-]{1,8}$/).filter((s) => s !== "." && s !== "..");
const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join("/"));
const mode = fc.integer({ min: 0o400, max: 0o777 });
const file: fc.Arbitrary<DesiredFile> = fc.record({
  path,
  mode,
  content: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 64 })),
});
const fileSet = fc.uniqueArray(file, { selector: (f) => f.path, maxLength: 8 });
const bytes = (content: Uint8Array | string) =>
  typeof content === "string" ? new TextEncoder().encode(content) : content;

describe("configHash", () => {
  test("is sha256:<hex> and fixed for a known set", () => {
    const hash = configHash([{ path: "a.conf", mode: 0o644, content: "x" }]);
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(configHash([])).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(configHash([])).not.toBe(hash);
  });

  test("string content and equal bytes hash the same", () => {
    const text = "server { listen 80; } — ünïcode";
    expect(configHash([{ path: "n.conf", mode: 0o644, content: text }])).toBe(
      configHash([{ path: "n.conf", mode: 0o644, content: new TextEncoder().encode(text) }]),
    );
  });

  test("ignores the secret flag, which an agent cannot report", () => {
    const plain = { path: "k", mode: 0o600, content: "s" };
    expect(configHash([{ ...plain, secret: true }])).toBe(configHash([plain]));
  });

  test("refuses duplicate paths, which have no canonical order", () => {
    const twice = [
      { path: "a", mode: 0o644, content: "1" },
      { path: "a", mode: 0o644, content: "2" },
    ];
    expect(() => configHash(twice)).toThrow(DroverError);
  });

  test("refuses a malformed digest instead of hashing a truncated one", () => {
    expect(() => manifestHash([{ path: "a", mode: 0o644, sha256: "zz" }])).toThrow(DroverError);
  });

  test("path and mode boundaries cannot be shifted into each other", () => {
    // Without length prefixes, path "a1" + mode "644" could read as path "a" + mode "1644".
    expect(configHash([{ path: "a1", mode: 0o644, content: "" }])).not.toBe(
      configHash([{ path: "a", mode: 0o1644, content: "" }]),
    );
  });

  test("property: stable under permutation", () => {
    fc.assert(
      fc.property(
        fileSet.chain((files) =>
          fc.tuple(
            fc.constant(files),
            fc.shuffledSubarray(files, {
              minLength: files.length,
              maxLength: files.length,
            }),
          ),
        ),
        ([files, shuffled]) => {
          expect(configHash(shuffled)).toBe(configHash(files));
        },
      ),
    );
  });

  test("property: any single-byte change changes the hash", () => {
    const withByte = fileSet
      .filter((files) => files.some((f) => bytes(f.content).length > 0))
      .chain((files) => {
        const candidates = files.flatMap((f, i) => (bytes(f.content).length > 0 ? [i] : []));
        return fc.record({
          files: fc.constant(files),
          index: fc.constantFrom(...candidates),
          position: fc.nat(),
          flip: fc.integer({ min: 1, max: 255 }),
        });
      });
    fc.assert(
      fc.property(withByte, ({ files, index, position, flip }) => {
        const changed = files.map((f, i) => {
          if (i !== index) return f;
          const content = Uint8Array.from(bytes(f.content));
          const at = position % content.length;
          content[at] = (content[at] ?? 0) ^ flip;
          return { ...f, content };
        });
        expect(configHash(changed)).not.toBe(configHash(files));
      }),
    );
  });

  test("property: a mode change changes the hash", () => {
    fc.assert(
      fc.property(
        fileSet.filter((f) => f.length > 0),
        fc.nat(),
        mode,
        (files, pick, next) => {
          const index = pick % files.length;
          fc.pre(files[index]?.mode !== next);
          const changed = files.map((f, i) => (i === index ? { ...f, mode: next } : f));
          expect(configHash(changed)).not.toBe(configHash(files));
        },
      ),
    );
  });

  test("property: a path change changes the hash", () => {
    fc.assert(
      fc.property(
        fileSet.filter((f) => f.length > 0),
        fc.nat(),
        path,
        (files, pick, next) => {
          const index = pick % files.length;
          fc.pre(!files.some((f) => f.path === next));
          const changed = files.map((f, i) => (i === index ? { ...f, path: next } : f));
          expect(configHash(changed)).not.toBe(configHash(files));
        },
      ),
    );
  });

  test("property: the agent's manifest hashes to the server's configHash", () => {
    fc.assert(
      fc.property(fileSet, (files) => {
        expect(manifestHash(manifestOf(files))).toBe(configHash(files));
      }),
    );
  });
});

describe("manifestOf", () => {
  test("lists path, mode and content digest sorted by UTF-8 bytes", () => {
    const manifest = manifestOf([
      { path: "b", mode: 0o600, content: "" },
      { path: "a/z", mode: 0o644, content: "x" },
    ]);
    expect(manifest).toEqual([
      { path: "a/z", mode: 0o644, sha256: contentSha256("x") },
      {
        path: "b",
        mode: 0o600,
        sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      },
    ]);
  });

  test("UTF-8 order differs from UTF-16 order for astral characters", () => {
    // U+FF5E sorts after U+1F600 in UTF-16 code units, before it in UTF-8 bytes.
    expect(comparePaths("\uff5e", "\u{1f600}")).toBeLessThan(0);
  });
});

describe("isDrifted", () => {
  const desired = [{ path: "a", mode: 0o644, content: "1" }];
  test("no report means drifted", () => {
    expect(isDrifted(undefined, desired)).toBe(true);
    expect(isDrifted("", desired)).toBe(true);
  });
  test("matching hash is in sync, any other is drifted", () => {
    expect(isDrifted(configHash(desired), desired)).toBe(false);
    expect(isDrifted(configHash(desired).toUpperCase().replace("SHA256", "sha256"), desired)).toBe(
      false,
    );
    expect(isDrifted(configHash([]), desired)).toBe(true);
  });
});
