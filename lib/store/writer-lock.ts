import { AsyncLocalStorage } from "node:async_hooks";
import { DroverError } from "../errors/index.ts";

/** Marks the async context of one open transaction. */
interface Scope {
  active: boolean;
}

/**
 * The writer lock: a FIFO async mutex serializing every use of the store's
 * single connection. While a transaction holds it, statements from elsewhere
 * would land inside that transaction, so nothing else may run.
 *
 * Calling the top-level store from inside `store.transaction(fn)` would wait
 * for the lock fn itself holds; the scope turns that silent deadlock into an
 * error naming the fix.
 */
export interface WriterLock {
  run<T>(op: () => Promise<T>): Promise<T>;
  /**
   * Runs op holding the lock, with its async context marked as inside a
   * transaction; then `after`, still holding the lock but outside that scope,
   * so what it starts may use the store (and waits its turn).
   */
  runScoped<T>(
    op: (scope: { readonly active: boolean }) => Promise<T>,
    after?: () => void,
  ): Promise<T>;
}

export function createWriterLock(): WriterLock {
  const context = new AsyncLocalStorage<Scope>();
  let tail: Promise<unknown> = Promise.resolve();

  function acquire<T>(op: () => Promise<T>): Promise<T> {
    if (context.getStore()?.active === true) {
      return Promise.reject(
        new DroverError(
          "internal",
          "store used directly inside its own transaction; use the tx argument of store.transaction",
        ),
      );
    }
    const result = tail.then(op);
    // The next holder waits for this one to settle, whether it threw or not.
    tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  return {
    run: acquire,
    runScoped: (op, after) =>
      acquire(async () => {
        const scope: Scope = { active: true };
        const result = await context
          .run(scope, () => op(scope))
          .finally(() => {
            scope.active = false;
          });
        after?.();
        return result;
      }),
  };
}
