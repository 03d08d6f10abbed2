import type { Clock } from "../time/index.ts";

/** setTimeout's largest delay; longer waits are made of several. */
const maxDelayMs = 2 ** 31 - 1;

/**
 * Calls `fire` once the injected clock reads `at` or later. Real timers do the
 * waiting, but the clock decides: when a timer goes off early by the clock
 * (it was moved back, or is a test's), it waits again. Returns the cancel.
 */
export function atClockTime(clock: Clock, at: Date, fire: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    const remaining = at.getTime() - clock.now().getTime();
    if (remaining <= 0) {
      timer = undefined;
      fire();
      return;
    }
    timer = setTimeout(arm, Math.min(remaining, maxDelayMs));
  };
  arm();
  return () => clearTimeout(timer);
}
