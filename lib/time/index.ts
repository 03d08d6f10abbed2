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

/** setTimeout's longest delay; a longer one would fire at once (Node and Bun warn and use 1 ms). */
const longestTimeoutMs = 2_147_483_647;

export const systemTimers: Timers = {
  after(ms, fire) {
    let timer: ReturnType<typeof setTimeout>;
    // A wait past ~24.8 days (a lease's credential a year out) is a chain of the longest ones.
    const arm = (left: number) => {
      timer = setTimeout(
        left > longestTimeoutMs ? () => arm(left - longestTimeoutMs) : fire,
        Math.min(left, longestTimeoutMs),
      );
    };
    arm(ms);
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

/** The inverse of parseDuration: the largest unit that divides `ms` ("90m", "2h", "1500ms"). */
export function formatDuration(ms: number): string {
  const units: Array<[string, number]> = [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ];
  const [unit, size] = units.find(([, size]) => ms !== 0 && ms % size === 0) ?? ["ms", 1];
  return `${ms / size}${unit}`;
}

export { createTokenBucket } from "./token-bucket.ts";
