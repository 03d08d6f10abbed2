import { DroverError } from "../errors/index.ts";

export interface RenewalPolicy {
  /** Share of the lifetime after which to renew, in (0, 1). Default 2/3. */
  fraction?: number;
}

const dayMs = 86_400_000;
/** Renew no later than this before expiry, so a failing CA leaves weeks to react. */
const expiryWindowMs = 30 * dayMs;

function validDate(value: Date, field: string): number {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new DroverError("invalid_argument", `${field} must be a valid Date`);
  }
  return value.getTime();
}

/**
 * When to renew: at `fraction` of the lifetime, or once 30 days remain,
 * whichever comes first. The 30-day window shrinks to a third of the lifetime
 * for certificates shorter than 90 days; otherwise a 6-day or 45-day
 * certificate would be due at (or right after) issuance. With the default 2/3
 * the result is always the 2/3 point (30 days before expiry for a 90-day
 * certificate); the window only matters for a larger fraction.
 */
export function renewalTime(notBefore: Date, notAfter: Date, policy: RenewalPolicy = {}): Date {
  const start = validDate(notBefore, "notBefore");
  const end = validDate(notAfter, "notAfter");
  if (end <= start) throw new DroverError("invalid_argument", "notAfter must be after notBefore");
  const fraction = policy.fraction ?? 2 / 3;
  if (typeof fraction !== "number" || !(fraction > 0 && fraction < 1)) {
    throw new DroverError(
      "invalid_argument",
      "fraction must be a number between 0 and 1 (exclusive)",
    );
  }
  const lifetime = end - start;
  const byFraction = start + lifetime * fraction;
  const byWindow = end - Math.min(expiryWindowMs, lifetime / 3);
  return new Date(Math.min(byFraction, byWindow));
}

/** True once `now` reaches renewalTime (always for an expired certificate). Pure. */
export function renewalDue(
  notBefore: Date,
  notAfter: Date,
  now: Date,
  policy: RenewalPolicy = {},
): boolean {
  const at = renewalTime(notBefore, notAfter, policy).getTime();
  return validDate(now, "now") >= at;
}
