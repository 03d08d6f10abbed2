import type { Timers } from "../../lib/time/index.ts";

/** Timers a test fires by moving time forward: nothing really waits. */
export function manualTimers(): Timers & { advance(ms: number): void; readonly pending: number } {
  let now = 0;
  const timers = new Map<number, { at: number; fire: () => void }>();
  let next = 0;
  return {
    after(ms, fire) {
      const id = next++;
      timers.set(id, { at: now + ms, fire });
      return () => timers.delete(id);
    },
    advance(ms) {
      now += ms;
      for (const [id, timer] of timers) {
        if (timer.at > now) continue;
        timers.delete(id);
        timer.fire();
      }
    },
    get pending() {
      return timers.size;
    },
  };
}
