import { rm } from "node:fs/promises";
import { join } from "node:path";
import { DroverError } from "../errors/index.ts";
import { readTextIfExists, writeFileAtomic } from "../files/index.ts";
import { tryFileLock } from "../store/index.ts";

/**
 * Makes a data dir one server's alone: two servers on one store would fight
 * over endpoints.json and mark each other's agents offline. The lock is an
 * OS file lock on `server.lock` (lib/store tryFileLock), so it ends with its
 * holder however that ends: no stale lock to delete by hand, and no pid to
 * trust (a container restarted after kill -9 reuses its pid). `server.pid`
 * only names the holder in the refusal. Returns the function that releases it.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const unlock = await tryLockDataDir(dataDir);
  if (unlock) return unlock;
  const pid = Number((await readTextIfExists(join(dataDir, "server.pid")))?.trim());
  const holder = Number.isInteger(pid) && pid > 0 ? `(pid ${pid}) ` : "";
  throw new DroverError(
    "failed_precondition",
    `another Drover server ${holder}holds data dir ${dataDir} (${join(dataDir, "server.lock")} is locked); stop it first or choose another --data-dir`,
  );
}

/** As lockDataDir, but undefined while a server holds the data dir: a CLI command then goes through it. */
export async function tryLockDataDir(dataDir: string): Promise<(() => Promise<void>) | undefined> {
  const path = join(dataDir, "server.lock");
  const pidPath = join(dataDir, "server.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    const lock = await tryFileLock(path);
    if (lock.kind === "held") {
      await writeFileAtomic(pidPath, `${process.pid}\n`, 0o600);
      return async () => {
        await rm(pidPath, { force: true });
        await lock.release();
      };
    }
    if (lock.kind === "busy") return undefined;
    // An older version's pid file: its lock was the pid, which proves nothing; the OS lock decides.
    await rm(path, { force: true });
  }
  throw new DroverError("unavailable", `could not lock data dir ${dataDir}; try again`);
}
