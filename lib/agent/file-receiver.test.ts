import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import fc from "fast-check";
import { configHash, contentSha256, manifestOf } from "../drift/index.ts";
import { DroverError } from "../errors/index.ts";
import { writeFileAtomic } from "../files/index.ts";
import {
  createFileReceiver,
  type IncomingFile,
  manifestFileName,
  type WriteFile,
} from "./file-receiver.ts";

const text = (value: string) => new TextEncoder().encode(value);
const file = (path: string, content = "x", mode = 0o644): IncomingFile => ({
  path,
  mode,
  content: text(content),
});

let sandbox: string;
let root: string;
let outside: string;

beforeEach(async () => {
  sandbox = await realpath(await mkdtemp(join(tmpdir(), "drover-receiver-")));
  root = join(sandbox, "root");
  outside = join(sandbox, "outside");
  await mkdir(outside);
});

afterEach(async () => {
  await rm(sandbox, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<DroverError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DroverError);
    return error as DroverError;
  }
  throw new Error("expected the batch to be rejected");
}

/** Every file under a directory, relative, temp files included. */
async function tree(directory: string): Promise<string[]> {
  try {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => !e.isDirectory())
      .map((e) => relative(directory, join(e.parentPath, e.name)))
      .sort();
  } catch {
    return [];
  }
}

const permissions = async (path: string) => (await stat(path)).mode & 0o7777;

describe("createFileReceiver", () => {
  test("writes files with exact modes and reports paths and digests", async () => {
    const receiver = createFileReceiver({ root });
    const result = await receiver.apply([
      file("nginx/site.conf", "server {}"),
      { ...file("keys/tls.key", "PRIVATE KEY"), mode: 0o600 },
      { ...file("bin/hook", "#!/bin/sh"), mode: 0o755 },
    ]);
    expect(await readFile(join(root, "nginx/site.conf"), "utf8")).toBe("server {}");
    expect(await permissions(join(root, "keys/tls.key"))).toBe(0o600);
    expect(await permissions(join(root, "bin/hook"))).toBe(0o755);
    expect(await permissions(join(root, "nginx/site.conf"))).toBe(0o644);
    expect(result.written.map((w) => w.path)).toEqual([
      "nginx/site.conf",
      "keys/tls.key",
      "bin/hook",
    ]);
    expect(result.written[1]?.sha256).toBe(contentSha256("PRIVATE KEY"));
    expect(JSON.stringify(result)).not.toContain("PRIVATE KEY");
    expect(await permissions(join(root, manifestFileName))).toBe(0o600);
  });

  test("sets the mode exactly even under a narrow umask", async () => {
    const before = process.umask(0o077);
    try {
      await createFileReceiver({ root }).apply([{ ...file("shared.conf"), mode: 0o664 }]);
    } finally {
      process.umask(before);
    }
    expect(await permissions(join(root, "shared.conf"))).toBe(0o664);
  });

  test("manifest round trip matches lib/drift and survives a new receiver", async () => {
    const desired = [
      { path: "a.conf", mode: 0o644, content: "a" },
      { path: "d/secret", mode: 0o600, content: "s", secret: true },
    ];
    const receiver = createFileReceiver({ root });
    expect(await receiver.manifest()).toEqual([]);
    const result = await receiver.apply(
      desired.map((f) => ({ path: f.path, mode: f.mode, content: text(f.content) })),
    );
    expect(result.configHash).toBe(configHash(desired));
    expect(await receiver.manifest()).toEqual(manifestOf(desired));
    expect(await createFileReceiver({ root }).manifest()).toEqual(manifestOf(desired));
  });

  test("manifest reports local edits, so they count as drift", async () => {
    const receiver = createFileReceiver({ root });
    await receiver.apply([file("a.conf", "pushed"), file("b.conf", "pushed")]);
    await writeFile(join(root, "a.conf"), "edited by hand");
    await rm(join(root, "b.conf"));
    expect(await receiver.manifest()).toEqual([
      { path: "a.conf", mode: 0o644, sha256: contentSha256("edited by hand") },
    ]);
  });

  test("removes managed files and leaves unmanaged ones alone", async () => {
    const receiver = createFileReceiver({ root });
    await receiver.apply([file("a"), file("b")]);
    await writeFile(join(root, "mine"), "not drover's");
    const result = await receiver.apply([], ["a", "mine", "never-existed"]);
    expect(result.removed).toEqual(["a"]);
    expect(await tree(root)).toEqual([manifestFileName, "b", "mine"]);
    expect((await receiver.manifest()).map((e) => e.path)).toEqual(["b"]);
    // The same batch again is a no-op rather than an error.
    expect((await receiver.apply([], ["a"])).removed).toEqual([]);
  });

  test("a managed file already gone is dropped from the manifest on removal", async () => {
    const receiver = createFileReceiver({ root });
    await receiver.apply([file("a")]);
    await rm(join(root, "a"));
    expect((await receiver.apply([], ["a"])).removed).toEqual(["a"]);
    expect(JSON.parse(await readFile(join(root, manifestFileName), "utf8")).files).toEqual([]);
  });

  test("accepts a matching sha256 and refuses a wrong one", async () => {
    const receiver = createFileReceiver({ root });
    await receiver.apply([{ ...file("a", "x"), sha256: contentSha256("x").toUpperCase() }]);
    const error = await rejection(
      receiver.apply([{ ...file("b", "x"), sha256: contentSha256("y") }]),
    );
    expect(error.details).toEqual([
      { field: "files[0].sha256", message: "does not match the content" },
    ]);
  });

  test("refuses a secret that is not owner-only, whatever the server sent", async () => {
    const receiver = createFileReceiver({ root });
    const error = await rejection(
      receiver.apply([{ ...file(".env", "TOKEN=s3cret", 0o644), secret: true }]),
    );
    expect(error.details).toEqual([
      { field: "files[0].mode", message: "holds a secret: must be owner-only, not 644" },
    ]);
    expect(await tree(root)).toEqual([]);
    await receiver.apply([{ ...file(".env", "TOKEN=s3cret", 0o600), secret: true }]);
    expect(await permissions(join(root, ".env"))).toBe(0o600);
  });

  test("refuses a file or a batch over its size cap", async () => {
    const receiver = createFileReceiver({ root, maxFileBytes: 4, maxBatchBytes: 6 });
    const big = await rejection(receiver.apply([file("a", "12345")]));
    expect(big.details[0]?.field).toBe("files[0].content");
    const many = await rejection(receiver.apply([file("a", "1234"), file("b", "123")]));
    expect(many.details.map((d) => d.field)).toEqual(["files"]);
    expect(await tree(root)).toEqual([]);
  });

  test("refuses a relative root and silly limits", () => {
    expect(() => createFileReceiver({ root: "relative/dir" })).toThrow(DroverError);
    expect(() => createFileReceiver({ root, maxFileBytes: 0 })).toThrow(DroverError);
  });
});

describe("path rules, each with a hostile example", () => {
  const hostile: Array<[name: string, path: string]> = [
    ["parent escape", "../x"],
    ["absolute path", "/etc/passwd"],
    ["escape after a segment", "a/../../x"],
    ["backslash", "a\\b"],
    ["dot segment", "./a"],
    ["empty segment", "a//b"],
    ["NUL byte", "a\u0000b"],
    ["over-long name", "x".repeat(256)],
    ["over-long path", Array(260).fill("abcd").join("/")],
    ["the receiver's own state", manifestFileName],
  ];
  test.each(hostile)("refuses %s", async (_, path) => {
    const error = await rejection(createFileReceiver({ root }).apply([file(path)]));
    expect(error.code).toBe("invalid_argument");
    expect(error.details[0]?.field).toBe("files[0].path");
    expect(await tree(sandbox)).toEqual([]);
  });

  test.each([[0o4755], [0o2755], [0o1777], [0o200], [0o10644]])("refuses mode %o", async (mode) => {
    const error = await rejection(createFileReceiver({ root }).apply([{ ...file("a"), mode }]));
    expect(error.details).toEqual([{ field: "files[0].mode", message: expect.any(String) }]);
  });

  test("refuses a symlink inside the root that points outside", async () => {
    await mkdir(root);
    await symlink(outside, join(root, "link"));
    const error = await rejection(createFileReceiver({ root }).apply([file("link/x")]));
    expect(error.details[0]?.message).toContain("symlink at `link`");
    expect(await tree(outside)).toEqual([]);
  });

  test("refuses a symlink deeper in the path too", async () => {
    await mkdir(join(root, "a"), { recursive: true });
    await symlink(outside, join(root, "a", "b"));
    await rejection(createFileReceiver({ root }).apply([file("a/b/c/d")]));
    expect(await tree(outside)).toEqual([]);
  });

  test("refuses to write through a symlink at the target", async () => {
    await mkdir(root);
    await writeFile(join(outside, "passwd"), "root:x:0:0");
    await symlink(join(outside, "passwd"), join(root, "passwd"));
    const error = await rejection(createFileReceiver({ root }).apply([file("passwd", "owned")]));
    expect(error.details[0]?.message).toContain("symlink");
    expect(await readFile(join(outside, "passwd"), "utf8")).toBe("root:x:0:0");
    expect((await lstat(join(root, "passwd"))).isSymbolicLink()).toBe(true);
  });

  test("refuses to remove through a symlink", async () => {
    const receiver = createFileReceiver({ root });
    await receiver.apply([file("d/f")]);
    await rm(join(root, "d"), { recursive: true });
    await mkdir(join(outside, "d"));
    await writeFile(join(outside, "d", "f"), "keep");
    await symlink(join(outside, "d"), join(root, "d"));
    await rejection(receiver.apply([], ["d/f"]));
    expect(await readFile(join(outside, "d", "f"), "utf8")).toBe("keep");
  });

  test("refuses a target that is a directory, or a parent that is a file", async () => {
    const receiver = createFileReceiver({ root });
    await receiver.apply([file("a/b")]);
    const directory = await rejection(receiver.apply([file("ok"), file("a")]));
    expect(directory.details).toEqual([
      { field: "files[1].path", message: "exists and is not a regular file" },
    ]);
    const parent = await rejection(receiver.apply([file("a/b/c")]));
    expect(parent.details).toEqual([
      { field: "files[0].path", message: "needs `a/b` to be a directory" },
    ]);
    expect(await tree(root)).toEqual([manifestFileName, "a/b"]);
  });

  test("property: a random path is rejected or lands strictly inside the root", async () => {
    const piece = fc.constantFrom("a", "b", ".", "..", "/", "\\", "\u0000", "\n", "é", "~", "-");
    const candidate = fc.oneof(
      fc.string({ maxLength: 24 }),
      fc.array(piece, { maxLength: 10 }).map((p) => p.join("")),
    );
    const receiver = createFileReceiver({ root });
    await fc.assert(
      fc.asyncProperty(candidate, async (path) => {
        try {
          await receiver.apply([file(path, "p")]);
        } catch (error) {
          expect(error).toBeInstanceOf(DroverError);
          return;
        }
        const target = resolve(root, path);
        expect(target.startsWith(root + sep)).toBe(true);
        expect(await readFile(target, "utf8")).toBe("p");
        // Clear it, so a later path cannot be refused for needing it as a directory.
        await receiver.apply([], [path]);
      }),
      { numRuns: 300 },
    );
    expect(await tree(outside)).toEqual([]);
    expect(await readdir(sandbox)).toEqual(expect.arrayContaining(["outside", "root"]));
    expect((await readdir(sandbox)).length).toBe(2);
  });
});

describe("batch atomicity", () => {
  test("one bad file means nothing is written, and every bad file is named", async () => {
    const error = await rejection(
      createFileReceiver({ root }).apply([
        file("good-1"),
        file("../escape"),
        file("good-2"),
        { ...file("setuid"), mode: 0o4755 },
      ]),
    );
    expect(error.code).toBe("invalid_argument");
    expect(error.details.map((d) => d.field)).toEqual(["files[1].path", "files[3].mode"]);
    expect(error.message).toContain("files[1].path: must not contain `.` or `..` segments");
    expect(await tree(sandbox)).toEqual([]);
  });

  test("a symlink found for the last file still means nothing is written", async () => {
    await mkdir(root);
    await symlink(outside, join(root, "link"));
    await rejection(createFileReceiver({ root }).apply([file("first"), file("link/x")]));
    expect(await tree(root)).toEqual(["link"]);
  });

  test("a failure on the third write restores the first two and removes new ones", async () => {
    const seed = createFileReceiver({ root });
    await seed.apply([file("a.conf", "old a"), { ...file("b.key", "old b"), mode: 0o600 }]);
    const manifestBefore = await seed.manifest();
    const stateBefore = await readFile(join(root, manifestFileName), "utf8");

    let writes = 0;
    const failing: WriteFile = async (path, data, mode) => {
      writes += 1;
      if (writes === 3) {
        // Fail after creating the directory, as a real full disk would.
        await mkdir(dirname(path), { recursive: true });
        throw new Error("disk full");
      }
      await writeFileAtomic(path, data, mode, { dirMode: 0o755, exactMode: true });
    };
    const receiver = createFileReceiver({ root, writeFile: failing });
    const error = await rejection(
      receiver.apply([
        { ...file("a.conf", "new a"), mode: 0o640 },
        file("b.key", "new b"),
        file("c/new.conf", "new c"),
      ]),
    );
    expect(error.code).toBe("internal");
    expect(error.message).toContain("c/new.conf");
    expect(await readFile(join(root, "a.conf"), "utf8")).toBe("old a");
    expect(await permissions(join(root, "a.conf"))).toBe(0o644);
    expect(await readFile(join(root, "b.key"), "utf8")).toBe("old b");
    expect(await permissions(join(root, "b.key"))).toBe(0o600);
    expect(await tree(root)).toEqual([manifestFileName, "a.conf", "b.key"]);
    expect((await readdir(root)).sort()).toEqual([manifestFileName, "a.conf", "b.key"]);
    expect(await readFile(join(root, manifestFileName), "utf8")).toBe(stateBefore);
    expect(await receiver.manifest()).toEqual(manifestBefore);
  });

  test("a failure writing the state restores files and undoes removals", async () => {
    await createFileReceiver({ root }).apply([file("keep", "k"), file("gone", "g")]);
    const failing: WriteFile = async (path, data, mode) => {
      if (path.endsWith(manifestFileName)) throw new Error("read-only");
      await writeFileAtomic(path, data, mode, { exactMode: true });
    };
    await rejection(
      createFileReceiver({ root, writeFile: failing }).apply(
        [file("keep", "k2"), file("new")],
        ["gone"],
      ),
    );
    expect(await readFile(join(root, "keep"), "utf8")).toBe("k");
    expect(await readFile(join(root, "gone"), "utf8")).toBe("g");
    expect(await tree(root)).toEqual([manifestFileName, "gone", "keep"]);
  });

  test("a write that fails before its rename leaves no temp file", async () => {
    await mkdir(root);
    await expect(writeFileAtomic(join(root, "x"), 42 as unknown as string)).rejects.toThrow();
    expect(await tree(root)).toEqual([]);
  });

  test("concurrent batches apply one after the other", async () => {
    const receiver = createFileReceiver({ root });
    await Promise.all([
      receiver.apply([file("one")]),
      receiver.apply([file("two")]),
      receiver.apply([file("three")]),
    ]);
    expect((await receiver.manifest()).map((e) => e.path)).toEqual(["one", "three", "two"]);
  });
});

describe("state file", () => {
  test("a corrupt state file is a clear precondition error", async () => {
    await mkdir(root);
    await writeFile(join(root, manifestFileName), "{not json");
    const error = await rejection(createFileReceiver({ root }).manifest());
    expect(error.code).toBe("failed_precondition");
  });

  test("a tampered entry cannot make the receiver reach outside the root", async () => {
    await mkdir(root);
    await writeFile(join(outside, "victim"), "v");
    const files = [{ path: "../outside/victim", mode: 0o644, sha256: contentSha256("v") }];
    await writeFile(join(root, manifestFileName), JSON.stringify({ version: 1, files }));
    await rejection(createFileReceiver({ root }).manifest());
    expect(await readFile(join(outside, "victim"), "utf8")).toBe("v");
  });
});
