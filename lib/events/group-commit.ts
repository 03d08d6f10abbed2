import type { EventBus, EventTransaction } from "./event-bus.ts";

/** Items written with their events, many to a transaction. */
export interface GroupCommit<T> {
  /** Resolves once the item is committed; rejects with its own error alone. */
  write(item: T): Promise<void>;
}

/**
 * Writes items with their events, many in one transaction: while one commit
 * holds the writer lock, the items that arrive meanwhile wait and go together
 * in the next (group commit). A lone item is written at once. When a batch
 * fails, its items are written one by one, so one bad item fails alone.
 */
export function createGroupCommit<T>(
  events: EventBus,
  writeOne: (tx: EventTransaction, item: T) => Promise<void>,
  maxBatch = 500,
): GroupCommit<T> {
  const queue: Array<{ item: T; settle: (error?: unknown) => void }> = [];
  let draining = false;

  async function drain(): Promise<void> {
    draining = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      try {
        await events.commit(async (tx) => {
          for (const { item } of batch) await writeOne(tx, item);
        });
        for (const { settle } of batch) settle();
      } catch {
        for (const { item, settle } of batch) {
          await events
            .commit((tx) => writeOne(tx, item))
            .then(
              () => settle(),
              (error: unknown) => settle(error),
            );
        }
      }
    }
    draining = false;
  }

  return {
    write(item: T): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ item, settle: (error) => (error === undefined ? resolve() : reject(error)) });
        if (!draining) void drain();
      });
    },
  };
}
