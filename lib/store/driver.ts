import { chmod, open } from "node:fs/promises";
import { isBun } from "../runtime/index.ts";
import { MEMORY_PATH, type OpenedDriver } from "./db.ts";
import { openBunSqlite } from "./driver-bun.ts";
import { openLibsql } from "./driver-libsql.ts";

export interface OpenDriverOptions {
  /** applyPragmas (WAL, foreign keys, busy timeout); default true. Off for a lock file. */
  configure?: boolean;
}

/**
 * Picks the SQLite driver for the running runtime; same schema either way.
 * The file and its -wal/-shm are the owner's alone (0600) whatever the umask:
 * the database holds password hashes and secrets.
 */
export async function openDriver(
  path: string,
  options: OpenDriverOptions = {},
): Promise<OpenedDriver> {
  const configure = options.configure ?? true;
  if (path === MEMORY_PATH) {
    return isBun() ? openBunSqlite(path, configure) : openLibsql(path, configure);
  }
  await createPrivateFile(path);
  const opened = await (isBun() ? openBunSqlite(path, configure) : openLibsql(path, configure));
  // SQLite gives -wal and -shm the database file's mode; these chmods cover files an older version left.
  for (const file of [path, `${path}-wal`, `${path}-shm`]) await restrictMode(file);
  return opened;
}

/**
 * Creates the file 0600 before SQLite opens it (SQLite would follow the
 * umask). An existing file is left alone here: opening and closing a
 * descriptor of it would drop the POSIX locks this process holds on it.
 */
async function createPrivateFile(path: string): Promise<void> {
  try {
    await (await open(path, "wx", 0o600)).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

/** chmod 0600 (no descriptor opened); a missing file, or one another user owns, is left as it is. */
async function restrictMode(path: string): Promise<void> {
  try {
    await chmod(path, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "EPERM") throw error;
  }
}
