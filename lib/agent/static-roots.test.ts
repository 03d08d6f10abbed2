// issue 10: `drover agent --static-root DIR` resolved at start and refused when unfit.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectDroverThrow } from "../../test/support/errors.ts";
import { MAX_STATIC_ROOTS, resolveStaticRoots } from "./static-roots.ts";

const dir = realpathSync(mkdtempSync(join(tmpdir(), "drover-static-roots-")));
const dataDir = join(dir, "data");
const site = join(dir, "site");
mkdirSync(join(dataDir, "files"), { recursive: true });
mkdirSync(join(site, "docs"), { recursive: true });
writeFileSync(join(site, "index.html"), "hi");
symlinkSync(site, join(dir, "link"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(given: string[]): Promise<string> {
  try {
    await resolveStaticRoots(dataDir, given);
  } catch (error) {
    return expectDroverThrow(() => {
      throw error;
    }).message;
  }
  throw new Error("expected a refusal");
}

describe("resolveStaticRoots", () => {
  test("real absolute paths: relative ones resolved, symlinks followed, duplicates dropped", async () => {
    const relative = join(dir, "site", "docs", "..");
    expect(
      await resolveStaticRoots(dataDir, [join(dir, "link"), relative, `${site}/docs`]),
    ).toEqual([site, `${site}/docs`]);
    expect(await resolveStaticRoots(dataDir, [])).toEqual([]);
  });

  test("refused with the flag named: missing, not a directory, /, the data dir around or inside", async () => {
    expect(await refusal([join(dir, "missing")])).toBe(
      `--static-root ${join(dir, "missing")}: does not exist`,
    );
    expect(await refusal([join(site, "index.html")])).toBe(
      `--static-root ${join(site, "index.html")}: is not a directory`,
    );
    expect(await refusal(["/"])).toMatch(/^--static-root \/: must not be \//);
    for (const path of [dataDir, join(dataDir, "files"), dir]) {
      expect(await refusal([path])).toMatch(
        new RegExp(`^--static-root ${path}: must not be, hold or lie inside the agent's data dir`),
      );
    }
  });

  test("a root nginx's path grammar cannot name is refused at start, not set aside later", async () => {
    const odd = join(dir, "a b");
    mkdirSync(odd);
    expect(await refusal([odd])).toMatch(/^--static-root .*a b: resolves to/);
  });

  test("at most as many as a session hello carries", async () => {
    const many = Array.from({ length: MAX_STATIC_ROOTS + 1 }, () => site);
    expect(await refusal(many)).toMatch(/^--static-root: at most 64/);
  });
});
