import { type Logger, silentLogger } from "../log/index.ts";
import type { Repositories, Store } from "../store/index.ts";
import type { Clock } from "../time/index.ts";
import type { Changes, PublishInput } from "./catalogue.ts";

/** A persisted event; `seq` increases monotonically across the fleet. */
export interface FleetEvent {
  seq: number;
  type: string;
  subjectId: string;
  data: unknown;
  at: Date;
}

/** An event as listeners hear it, just committed: with what its change touched. */
export interface CommittedEvent extends FleetEvent {
  changes: Changes;
}

export type EventListener = (event: CommittedEvent) => void;

/** The repositories of one open transaction, and the way to write its events. */
export interface EventTransaction extends Repositories {
  /** Writes the event in this transaction; listeners hear of it once the transaction commits. */
  emit(input: PublishInput): Promise<FleetEvent>;
}

export interface EventBus {
  /**
   * Runs fn in one store transaction: the change and the events describing it
   * commit together or not at all. Listeners hear the events after COMMIT, in
   * seq order, before any later transaction's; if fn throws, nobody does.
   */
  commit<T>(fn: (tx: EventTransaction) => Promise<T>): Promise<T>;
  /** An event on its own (its change is not in the store, or was written before). */
  publish(input: PublishInput): Promise<FleetEvent>;
  /** Returns the function that unsubscribes. */
  subscribe(listener: EventListener): () => void;
}

export function createEventBus(options: { store: Store; clock: Clock; logger?: Logger }): EventBus {
  const { store, clock } = options;
  const logger = options.logger ?? silentLogger;
  const listeners = new Set<EventListener>();

  function notify(committed: CommittedEvent[]): void {
    for (const event of committed) {
      for (const listener of listeners) {
        // The change is committed: a failing listener must not make it look failed.
        try {
          listener(event);
        } catch (error) {
          logger.error("event listener failed", { type: event.type, error: String(error) });
        }
      }
    }
  }

  const bus: EventBus = {
    commit(fn) {
      const committed: CommittedEvent[] = [];
      return store.transaction(
        (tx) =>
          fn({
            ...tx,
            async emit(input) {
              const event = await tx.events.append({
                type: input.type,
                subjectId: input.subjectId,
                data: input.data,
                at: clock.now(),
              });
              committed.push({ ...event, changes: input.changes });
              return event;
            },
          }),
        // Runs after COMMIT while the writer lock is still held: no later
        // transaction's events can overtake these.
        () => notify(committed.sort((a, b) => a.seq - b.seq)),
      );
    },
    publish: (input) => bus.commit((tx) => tx.emit(input)),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return bus;
}
