import type { Clock } from "./index.ts";

/** Up to `burst` at once, refilled at `perSecond`; time comes from the injected clock. */
export function createTokenBucket(options: { burst: number; perSecond: number; clock: Clock }) {
  let tokens = options.burst;
  let last = options.clock.now().getTime();
  return {
    /** Takes one token; false when none is left. */
    take(): boolean {
      const now = options.clock.now().getTime();
      tokens = Math.min(options.burst, tokens + ((now - last) / 1000) * options.perSecond);
      last = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
