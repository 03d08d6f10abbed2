import { sql } from "drizzle-orm";
import { openDriver } from "./driver.ts";
import { isBusy, isNotADatabase } from "./errors.ts";

export type FileLockAttempt =
  | { kind: "held"; release(): Promise<void> }
  /** Another connection, in this process or another, holds it. */
  | { kind: "busy" }
  /** The file exists and is not an SQLite file (e.g. an older version's pid file). */
  | { kind: "not_a_lock" };

/**
 * An exclusive lock that dies with its holder: an SQLite file inside an open
 * `BEGIN EXCLUSIVE` transaction, i.e. SQLite's fcntl() lock, which the
 * kernel releases when the process ends however it ends (kill -9 included).
 * Works through the project's driver on Bun, Node and Deno, without native
 * addons of its own. Never waits: busy_timeout 0. Released by ROLLBACK (a
 * close alone may leave the connection open while statements are cached).
 */
export async function tryFileLock(path: string): Promise<FileLockAttempt> {
  const opened = await openDriver(path, { configure: false });
  try {
    await opened.db.run(sql`PRAGMA busy_timeout=0`);
    await opened.db.run(sql`BEGIN EXCLUSIVE`);
    // Reads the header: an older version's pid file is no database.
    await opened.db.run(sql`CREATE TABLE IF NOT EXISTS lock_holder (id INTEGER PRIMARY KEY)`);
  } catch (error) {
    await opened.close();
    if (isBusy(error)) return { kind: "busy" };
    if (isNotADatabase(error)) return { kind: "not_a_lock" };
    throw error;
  }
  return {
    kind: "held",
    async release() {
      await opened.db.run(sql`ROLLBACK`);
      await opened.close();
    },
  };
}
