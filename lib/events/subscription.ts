import type { Store } from "../store/index.ts";
import { yieldToIo } from "../tasks/index.ts";
import type { EventBus, FleetEvent } from "./event-bus.ts";

export interface SubscriptionOptions {
  /** Resume after this sequence number; undefined starts with what happens next. */
  after?: number;
  /** Which events this watcher receives (type, workspace, and what it may see). */
  accepts: (event: FleetEvent) => boolean;
  deliver: (event: FleetEvent) => void;
  /** The store failed during replay; the subscription is closed. */
  onError?: (error: unknown) => void;
  /**
   * At most this many stored events are read for one replay; past it the
   * subscription closes and onReplayLimit names the seq to resume after.
   * Unbounded without.
   */
  maxReplayEvents?: number;
  onReplayLimit?: (resumeAfter: number) => void;
  /** The replay is over (finished, cut short, failed or cancelled); no store read is in flight. */
  onReplayEnd?: () => void;
}

const replayPage = 500;

/** Lets other I/O run between replay pages: a store read may resolve without leaving the microtask queue. */

/**
 * A watcher that resumes without losing or repeating an event: it listens
 * live first (buffering), replays the store from its cursor, then drains the
 * buffer; anything at or below the cursor is dropped, so the overlap between
 * replay and live delivery is sent once, in order. Closing it cancels a
 * replay between pages.
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

  /** Replays from the cursor; false when it stopped at the limit (or was closed) and must not go live. */
  async function replay(): Promise<boolean> {
    const limit = options.maxReplayEvents ?? Number.POSITIVE_INFINITY;
    let read = 0;
    while (!closed) {
      const wanted = Math.min(replayPage, limit - read);
      const page = await store.events.listSince(cursor, wanted);
      for (const event of page) send(event);
      read += page.length;
      if (page.length < wanted) return !closed;
      if (read >= limit) {
        const resumeAfter = cursor;
        close();
        options.onReplayLimit?.(resumeAfter);
        return false;
      }
      await yieldToIo();
    }
    return false;
  }

  void (async () => {
    if (options.after === undefined) cursor = await store.events.latestSeq();
    else if (!(await replay())) return;
    const pending = buffered ?? [];
    buffered = undefined;
    for (const event of pending.sort((a, b) => a.seq - b.seq)) send(event);
  })()
    .catch((error: unknown) => {
      close();
      options.onError?.(error);
    })
    .finally(() => options.onReplayEnd?.());
  function close() {
    closed = true;
    buffered = undefined;
    unsubscribe();
  }
  return close;
}
