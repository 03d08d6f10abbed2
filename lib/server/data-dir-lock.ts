import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { DroverError } from "../errors/index.ts";
import { readTextIfExists } from "../files/index.ts";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else — still running.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Makes a data dir one server's alone: two servers on one store would fight
 * over endpoints.json and mark each other's agents offline. A lock left by a
 * server that died is taken over. Returns the function that releases it.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, "server.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const pid = Number((await readTextIfExists(path))?.trim());
      if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) {
        throw new DroverError(
          "failed_precondition",
          `another Drover server (pid ${pid}) is using data dir ${dataDir}; stop it first or choose another --data-dir`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new DroverError("unavailable", `could not lock data dir ${dataDir}; try again`);
}
