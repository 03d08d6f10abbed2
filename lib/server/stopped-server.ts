import { stat } from "node:fs/promises";
import { DroverError } from "../errors/index.ts";
import { createEventBus } from "../events/index.ts";
import { silentLogger } from "../log/index.ts";
import type { UserRow } from "../store/index.ts";
import { openStore } from "../store/index.ts";
import { firstAdminEmail, resetUserPassword } from "../tenancy/index.ts";
import { type Clock, systemClock } from "../time/index.ts";
import { serverPaths } from "./data-dir.ts";
import { tryLockDataDir } from "./data-dir-lock.ts";
import { removeInitialAdminPassword } from "./first-admin.ts";

/**
 * Resets a user's password directly in the store of a stopped server, holding
 * the data dir's lock so no server starts meanwhile. Undefined when a server
 * holds the data dir: then go through it (OperatorService.ResetUserPassword),
 * whose store this process must not write beside it.
 */
export async function resetPasswordInStoppedServer(
  dataDir: string,
  input: { email: string; password: string },
  options: { clock?: Clock } = {},
): Promise<{ user: UserRow; revokedRefreshTokens: number } | undefined> {
  const database = serverPaths(dataDir).database;
  if (!(await stat(database).catch(() => undefined))?.isFile())
    throw new DroverError(
      "failed_precondition",
      `no Drover server data in ${dataDir} (${database} is missing); is this the server's --data-dir?`,
    );
  const unlock = await tryLockDataDir(dataDir);
  if (!unlock) return undefined;
  try {
    const store = await openStore({ path: database });
    try {
      const clock = options.clock ?? systemClock;
      const events = createEventBus({ store, clock });
      const reset = await resetUserPassword({ store, events, clock }, input);
      // The running server removes it on the event; a stopped one cannot.
      if (reset.user.email === firstAdminEmail)
        await removeInitialAdminPassword(dataDir, silentLogger);
      return reset;
    } finally {
      await store.close();
    }
  } finally {
    await unlock();
  }
}
