/**
 * Coalescing: changes accumulate in one pending batch and are handled by one
 * flush at a time, so a burst of changes costs one computation; and each
 * agent has at most one delivery in flight, planned once more after it
 * settles when a change arrived meanwhile.
 */

export interface CoalescingScheduler<Batch> {
  /** Adds to the pending batch (a fresh one when none is pending) and has it flushed soon. */
  add(update: (batch: Batch) => void): void;
  /** Resolves once no batch is pending or being flushed (at once after run has returned). */
  settled(): Promise<void>;
  /** The task: flushes batches one at a time until the signal aborts. */
  run(signal: AbortSignal): Promise<void>;
}

export interface CoalescingSchedulerOptions<Batch> {
  emptyBatch: () => Batch;
  flush: (batch: Batch) => Promise<void>;
  /** A failed flush is reported here; the next batch is flushed all the same. */
  onError: (error: unknown) => void;
}

/** One turn of the event loop: changes made in the same turn join the batch. */
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export function createCoalescingScheduler<Batch>(
  options: CoalescingSchedulerOptions<Batch>,
): CoalescingScheduler<Batch> {
  let pending: Batch | undefined;
  let flushing = false;
  let stopped = false;
  let wake: (() => void) | undefined;
  const waiters: (() => void)[] = [];
  const idle = () => stopped || (pending === undefined && !flushing);
  const notify = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  return {
    add(update) {
      pending ??= options.emptyBatch();
      update(pending);
      notify();
    },
    settled() {
      if (idle()) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    async run(signal) {
      signal.addEventListener("abort", notify, { once: true });
      try {
        while (!signal.aborted) {
          if (pending === undefined) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            continue;
          }
          flushing = true;
          await nextTurn();
          const batch = pending;
          pending = undefined;
          await options.flush(batch).catch(options.onError);
          flushing = false;
          if (idle()) for (const resolve of waiters.splice(0)) resolve();
        }
      } finally {
        stopped = true;
        for (const resolve of waiters.splice(0)) resolve();
      }
    },
  };
}

/** An agent's delivery in flight, if any; the part of its session the scheduling reads. */
export interface DeliverySlot {
  /** The version of the delivery the agent is applying; one at a time. */
  inFlight?: string;
  /** A change arrived while a delivery was in flight: compute again after it. */
  again: boolean;
}

/** Whether the agent may be planned now; with a delivery in flight it is marked to be planned after it. */
export function readyToPlan(slot: DeliverySlot): boolean {
  if (slot.inFlight === undefined) return true;
  slot.again = true;
  return false;
}

export function startDelivery(slot: DeliverySlot, version: string): void {
  slot.inFlight = version;
  slot.again = false;
}

/**
 * The agent reported a final status for `version`: frees its slot when that
 * was the delivery in flight. Whether a change arrived meanwhile (plan again now).
 */
export function deliverySettled(slot: DeliverySlot, version: string): boolean {
  if (slot.inFlight === version) slot.inFlight = undefined;
  if (!slot.again) return false;
  slot.again = false;
  return true;
}
