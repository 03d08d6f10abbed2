import type { StoreDb } from "./db.ts";
import { toDroverError } from "./errors.ts";

/**
 * How a repository reaches the connection. The top-level store's runner takes
 * the writer lock per call; a transaction's runner relies on the lock its
 * transaction already holds. Repositories are written once against this.
 */
export type Runner = <T>(op: (db: StoreDb) => Promise<T>) => Promise<T>;

/** Wraps a runner so everything escaping a repository is a DroverError. */
export function translating(run: Runner): Runner {
  return async (op) => {
    try {
      return await run(op);
    } catch (error) {
      throw toDroverError(error);
    }
  };
}
