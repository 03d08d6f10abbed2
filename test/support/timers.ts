import type { Clock, Timers } from "../../lib/time/index.ts";

/**
 * A clock and timers a test moves by hand: timers fire as the clock passes
 * their moment, so nothing really waits.
 */
export function manualTimers(
  start = 0,
): Clock &
  Timers & { advance(ms: number): void; readonly nowMs: number; readonly pending: number } {
  let now = start;
  const timers = new Map<number, { at: number; fire: () => void }>();
  let next = 0;
  return {
    now: () => new Date(now),
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
    get nowMs() {
      return now;
    },
    get pending() {
      return timers.size;
    },
  };
}
