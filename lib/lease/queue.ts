/** What service order looks at. */
export interface Queued {
  priority: number;
  sequence: number;
}

/** Service order: higher priority first, then first come first served. */
export function compareServiceOrder(a: Queued, b: Queued): number {
  return b.priority - a.priority || a.sequence - b.sequence;
}

/** A copy in service order. */
export function inServiceOrder<T extends Queued>(leases: readonly T[]): T[] {
  return [...leases].sort(compareServiceOrder);
}

/** Whether `a` is served before `b`. */
export function servedBefore(a: Queued, b: Queued): boolean {
  return compareServiceOrder(a, b) < 0;
}
