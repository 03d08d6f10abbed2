import type { Clock } from "../time/index.ts";

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window resets; what Retry-After says. */
  retryAfterSeconds: number;
}

/**
 * A fixed one-minute window per key (a user, or an address). A request costs
 * 1 unless told otherwise (a failed authentication costs more). Memory is
 * bounded by the number of keys seen in the current window.
 */
export function createRateLimiter(limitPerMinute: number, clock: Clock) {
  let windowStart = 0;
  let counts = new Map<string, number>();
  return function take(key: string, cost = 1): RateDecision {
    const now = clock.now().getTime();
    if (now - windowStart >= 60_000) {
      windowStart = now - (now % 60_000);
      counts = new Map();
    }
    const used = (counts.get(key) ?? 0) + cost;
    counts.set(key, used);
    return {
      allowed: used <= limitPerMinute,
      retryAfterSeconds: Math.max(1, Math.ceil((windowStart + 60_000 - now) / 1000)),
    };
  };
}
