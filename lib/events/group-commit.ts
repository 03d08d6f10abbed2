import type { EventBus, EventTransaction } from "./event-bus.ts";

/** Items written with their events, many to a transaction. */
export interface GroupCommit<T, R = void> {
  /** Resolves with what writing the item returned once it is committed; rejects with its own error alone. */
  write(item: T): Promise<R>;
}

/**
 * Writes items with their events, many in one transaction: while one commit
 * holds the writer lock, the items that arrive meanwhile wait and go together
 * in the next (group commit). A lone item is written at once. When a batch
 * fails, its items are written one by one, so one bad item fails alone.
 */
export function createGroupCommit<T, R = void>(
  events: EventBus,
  writeOne: (tx: EventTransaction, item: T) => Promise<R>,
  maxBatch = 500,
): GroupCommit<T, R> {
  type Waiting = { item: T; done: (result: R) => void; failed: (error: unknown) => void };
  const queue: Waiting[] = [];
  let draining = false;

  async function drain(): Promise<void> {
    draining = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, maxBatch);
      try {
        const results = await events.commit(async (tx) => {
          const written: R[] = [];
          for (const { item } of batch) written.push(await writeOne(tx, item));
          return written;
        });
        for (const [i, { done }] of batch.entries()) done(results[i] as R);
      } catch {
        for (const { item, done, failed } of batch) {
          await events.commit((tx) => writeOne(tx, item)).then(done, failed);
        }
      }
    }
    draining = false;
  }

  return {
    write(item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, done: resolve, failed: reject });
        if (!draining) void drain();
      });
    },
  };
}

/** Small independent transactions that may share a commit with others of their kind. */
export interface BatchedCommits {
  /** Runs `work` in a transaction it may share (group commit); resolves once committed. */
  commit<R>(work: (tx: EventTransaction) => Promise<R>): Promise<R>;
}

const batchedByBus = new WeakMap<EventBus, BatchedCommits>();

/**
 * The bus's shared group commit for short writes that arrive in crowds
 * (registrations, connections, final config reports): one per bus, so they
 * batch with each other too. Work must not open a transaction of its own.
 */
export function batchedCommits(events: EventBus): BatchedCommits {
  let batched = batchedByBus.get(events);
  if (!batched) {
    const group = createGroupCommit<(tx: EventTransaction) => Promise<unknown>, unknown>(
      events,
      (tx, work) => work(tx),
    );
    batched = {
      commit: <R>(work: (tx: EventTransaction) => Promise<R>) => group.write(work) as Promise<R>,
    };
    batchedByBus.set(events, batched);
  }
  return batched;
}
