/** The subscribe message of the WebSocket protocol (`/v1/events`). */
export interface SubscribeMessage {
  action: "subscribe";
  events: string[];
  after?: number;
}

/**
 * Resume bookkeeping for one event stream across reconnects. Each connection subscribes with
 * `after` = the last seq seen; until its `subscribed` arrives, events from the socket's default
 * live feed are ignored (the replay brings them again, in order); after it, only seqs above
 * the last one pass, so nothing is lost and nothing is repeated.
 */
export function createResumeCursor(types: readonly string[] = ["*"]) {
  let lastSeq: number | undefined;
  let accepting = false;
  const subscribe = (): SubscribeMessage => {
    accepting = false;
    return lastSeq === undefined
      ? { action: "subscribe", events: [...types] }
      : { action: "subscribe", events: [...types], after: lastSeq };
  };
  return {
    /** The message to send when a connection opens. */
    subscribe,
    onSubscribed(): void {
      accepting = true;
    },
    /** True when the event is new and should be handed on. */
    accept(seq: number): boolean {
      if (!accepting || (lastSeq !== undefined && seq <= lastSeq)) return false;
      lastSeq = seq;
      return true;
    },
    /** The server stopped a long replay at `resumeAfter`: the subscribe that continues it. */
    onReplayLimit(resumeAfter: number): SubscribeMessage {
      lastSeq = Math.max(lastSeq ?? 0, resumeAfter);
      return subscribe();
    },
    onClose(): void {
      accepting = false;
    },
    get lastSeq(): number | undefined {
      return lastSeq;
    },
  };
}

/**
 * Milliseconds before reconnect attempt `attempt` (0-based): doubling from 500 ms, at most 10 s
 * (one server and a few browsers: coming back quickly matters more than sparing it), with jitter.
 */
export function backoffDelay(attempt: number, random: number): number {
  const base = Math.min(10_000, 500 * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.5 + random / 2));
}
