import type { Store } from "../store/index.ts";
import type { EventBus, FleetEvent } from "./event-bus.ts";

export interface SubscriptionOptions {
  /** Resume after this sequence number; undefined starts with what happens next. */
  after?: number;
  /** Which events this watcher receives (type, workspace, and what it may see). */
  accepts: (event: FleetEvent) => boolean;
  deliver: (event: FleetEvent) => void;
  /** The store failed during replay; the subscription is closed. */
  onError?: (error: unknown) => void;
}

const replayPage = 500;

/**
 * A watcher that resumes without losing or repeating an event: it listens
 * live first (buffering), replays the store from its cursor, then drains the
 * buffer; anything at or below the cursor is dropped, so the overlap between
 * replay and live delivery is sent once, in order.
 */
export function openSubscription(
  bus: EventBus,
  store: Store,
  options: SubscriptionOptions,
): () => void {
  let cursor = options.after ?? Number.POSITIVE_INFINITY;
  let buffered: FleetEvent[] | undefined = [];
  let closed = false;
  const send = (event: FleetEvent) => {
    if (closed || event.seq <= cursor) return;
    cursor = event.seq;
    if (options.accepts(event)) options.deliver(event);
  };
  const unsubscribe = bus.subscribe((event) => (buffered ? buffered.push(event) : send(event)));
  void (async () => {
    if (options.after === undefined) {
      cursor = await store.events.latestSeq();
    } else {
      for (;;) {
        const page = await store.events.listSince(cursor, replayPage);
        for (const event of page) send(event);
        if (page.length < replayPage || closed) break;
      }
    }
    const pending = buffered ?? [];
    buffered = undefined;
    for (const event of pending.sort((a, b) => a.seq - b.seq)) send(event);
  })().catch((error: unknown) => {
    close();
    options.onError?.(error);
  });
  function close() {
    closed = true;
    unsubscribe();
  }
  return close;
}
