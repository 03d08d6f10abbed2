/** Time comes in through this interface so tests can move it instead of sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * Timers come in beside the clock for waits measured in elapsed time (a
 * command's deadline), so tests fire them instead of sleeping.
 */
export interface Timers {
  /** Calls `fire` once after `ms`; returns the cancel. */
  after(ms: number, fire: () => void): () => void;
}

export const systemTimers: Timers = {
  after(ms, fire) {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  },
};

/** Parses "90s", "15m", "1h", "7d", "250ms" into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as string];
  const value = Number(match[1]);
  return unit === undefined || !Number.isSafeInteger(value * unit) ? undefined : value * unit;
}

export { createTokenBucket } from "./token-bucket.ts";
