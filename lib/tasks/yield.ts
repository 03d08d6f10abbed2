import { setImmediate } from "node:timers";

/** Lets pending I/O (sockets, timers) run before the caller goes on. */
export const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * For a long loop: `await slice()` in each turn yields to I/O once `budgetMs`
 * of uninterrupted work has passed since the last yield, so the event loop is
 * never held longer than that by the loop (heartbeats and calls go between).
 */
export function timeSlicer(budgetMs = 10): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < budgetMs) return undefined;
    return yieldToIo().then(() => {
      since = performance.now();
    });
  };
}
