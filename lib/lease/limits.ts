/** The engine's hard bounds, shared by request validation and policy checks. */

export const HOUR_MS = 3_600_000;
/** No request may ask for, and no policy may allow, more than this. */
export const MAX_LEASE_DURATION_MS = 30 * 24 * HOUR_MS;
export const MIN_PRIORITY = -100;
export const MAX_PRIORITY = 100;
