/**
 * A push-to-pull queue: producers push, one consumer iterates. Turns
 * callbacks (a bus, a stream reader) into the async iterables Connect streams
 * read and write. Iteration ends when the channel closes or the signal
 * aborts; close(error) makes the consumer throw it after the queued items.
 */
export interface Channel<T> extends AsyncIterable<T> {
  push(item: T): void;
  close(error?: unknown): void;
  /** Items queued and not yet taken. */
  readonly size: number;
}

export function createChannel<T>(signal?: AbortSignal): Channel<T> {
  const queue: T[] = [];
  let closed = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  signal?.addEventListener("abort", notify, { once: true });
  return {
    push(item) {
      if (closed) return;
      queue.push(item);
      notify();
    },
    close(error) {
      if (closed) return;
      closed = true;
      if (error !== undefined) failure = { error };
      notify();
    },
    get size() {
      return queue.length;
    },
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          if (signal?.aborted) return;
          if (queue.length > 0) {
            yield queue.shift() as T;
            continue;
          }
          if (failure) throw failure.error;
          if (closed) return;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        signal?.removeEventListener("abort", notify);
      }
    },
  };
}
