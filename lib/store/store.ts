import { DroverError } from "../errors/index.ts";
import type { OpenedDriver } from "./db.ts";
import { openDriver } from "./driver.ts";
import { toDroverError } from "./errors.ts";
import { migrate } from "./migrate.ts";
import { migrations } from "./migrations.gen.ts";
import { createRepositories } from "./repositories.ts";
import type { Runner } from "./runner.ts";
import { inTransaction } from "./transaction.ts";
import type { Store, StoreOptions } from "./types.ts";
import { createWriterLock } from "./writer-lock.ts";

/** Opens (creating if needed) and migrates the store at options.path. */
export async function openStore(options: StoreOptions): Promise<Store> {
  return createStore(await openDriver(options.path));
}

/** Builds the store over an opened driver; tests use it to run both drivers under Bun. */
export async function createStore(opened: OpenedDriver): Promise<Store> {
  const { db, driver, close } = opened;
  const lock = createWriterLock();
  try {
    await lock.run(() => migrate(db, migrations));
  } catch (error) {
    await close();
    throw new DroverError("internal", "store: migration failed", { cause: error });
  }

  let closed = false;
  const guard = (): void => {
    if (closed) throw new DroverError("failed_precondition", "store is closed");
  };
  const locked: Runner = (op) =>
    lock.run(async () => {
      guard();
      return op(db);
    });

  return {
    ...createRepositories(locked),
    driver,

    transaction: (fn, afterCommit) =>
      lock.runScoped(async (scope) => {
        guard();
        const inside: Runner = async (op) => {
          // A tx kept past its transaction would write outside any lock.
          if (!scope.active) {
            throw new DroverError("failed_precondition", "transaction already finished");
          }
          return op(db);
        };
        let thrownByFn: { error: unknown } | undefined;
        try {
          return await inTransaction(db, async () => {
            try {
              return await fn(createRepositories(inside));
            } catch (error) {
              thrownByFn = { error };
              throw error;
            }
          });
        } catch (error) {
          // fn's own error is rethrown untouched; BEGIN/COMMIT failures are ours.
          throw thrownByFn?.error === error ? error : toDroverError(error);
        }
      }, afterCommit),

    close: () =>
      lock.run(async () => {
        if (closed) return;
        closed = true;
        await close();
      }),
  };
}
