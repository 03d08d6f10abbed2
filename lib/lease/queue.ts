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
