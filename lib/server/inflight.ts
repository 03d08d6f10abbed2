import type { Interceptor } from "@connectrpc/connect";

/**
 * Counts calls still running, response streams included, so a listener can
 * wait for its handlers to finish their own clean-up before the store closes.
 */
export function createInflightTracker() {
  let running = 0;
  let waiters: Array<() => void> = [];
  const finish = () => {
    running -= 1;
    if (running === 0) {
      for (const wake of waiters) wake();
      waiters = [];
    }
  };
  async function* trackStream<T>(messages: AsyncIterable<T>): AsyncIterable<T> {
    try {
      yield* messages;
    } finally {
      finish();
    }
  }
  const track = () => {
    running += 1;
    let finished = false;
    return () => {
      if (!finished) finish();
      finished = true;
    };
  };
  const interceptor: Interceptor = (next) => async (request) => {
    running += 1;
    let streaming = false;
    try {
      const response = await next(request);
      if (!response.stream) return response;
      streaming = true;
      return { ...response, message: trackStream(response.message) };
    } finally {
      if (!streaming) finish();
    }
  };
  return {
    interceptor,
    /** Counts a call served outside connect until the returned function runs. */
    track,
    idle(timeoutMs: number): Promise<void> {
      if (running === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
