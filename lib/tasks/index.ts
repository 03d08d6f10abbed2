/**
 * Every loop in Drover (sweeps, reconnects, renewals) is a task: an async
 * function that runs until its signal aborts. One runner starts and stops them,
 * so shutdown is one call and tests can stop everything deterministically.
 */
export type Task = (signal: AbortSignal) => Promise<void>;

export interface TaskRunner {
  /** Stops every task and waits for all of them to return. */
  stop(): Promise<void>;
}

export function startTasks(
  tasks: Record<string, Task>,
  onError: (name: string, error: unknown) => void,
): TaskRunner {
  const controller = new AbortController();
  const running = Object.entries(tasks).map(async ([name, task]) => {
    try {
      await task(controller.signal);
    } catch (error) {
      if (!controller.signal.aborted) onError(name, error);
    }
  });
  return {
    async stop() {
      controller.abort();
      await Promise.all(running);
    },
  };
}

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Runs `step` every `intervalMs` until the signal aborts; a long step may watch the signal. */
export function every(intervalMs: number, step: (signal: AbortSignal) => Promise<void>): Task {
  return async (signal) => {
    while (!signal.aborted) {
      await sleep(intervalMs, signal);
      if (!signal.aborted) await step(signal);
    }
  };
}

export { type Channel, createChannel } from "./channel.ts";
export { timeSlicer, yieldToIo } from "./yield.ts";
