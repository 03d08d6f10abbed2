import type { Store } from "../store/index.ts";
import type { Clock } from "../time/index.ts";

/** A persisted event; `seq` increases monotonically across the fleet. */
export interface FleetEvent {
  seq: number;
  type: string;
  subjectId: string;
  data: unknown;
  at: Date;
}

export interface PublishInput {
  type: string;
  subjectId: string;
  data?: unknown;
}

export type EventListener = (event: FleetEvent) => void;

export interface EventBus {
  /** Writes the event to the store, then hands it to every listener. */
  publish(input: PublishInput): Promise<FleetEvent>;
  /** Returns the function that unsubscribes. */
  subscribe(listener: EventListener): () => void;
}

export function createEventBus(options: { store: Store; clock: Clock }): EventBus {
  const listeners = new Set<EventListener>();
  return {
    async publish(input) {
      const event = await options.store.events.append({
        type: input.type,
        subjectId: input.subjectId,
        data: input.data ?? {},
        at: options.clock.now(),
      });
      for (const listener of listeners) listener(event);
      return event;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
