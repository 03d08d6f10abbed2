import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBunSqlite } from "../../lib/store/driver-bun.ts";
import { openLibsql } from "../../lib/store/driver-libsql.ts";

/** Both store drivers, as `[name, open]` rows for `describe.each`. */
export const drivers = [
  ["bun-sqlite", openBunSqlite],
  ["libsql", openLibsql],
] as const;

/**
 * Makes a temp dir that is removed after the calling test file's tests;
 * `freshPath()` names a new database file in it on every call.
 */
export function tempStoreDir(prefix: string): { freshPath: () => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return { freshPath: () => join(dir, `store-${++n}.db`) };
}
