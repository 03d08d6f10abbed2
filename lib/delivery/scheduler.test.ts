import { describe, expect, test } from "bun:test";
import {
  createCoalescingScheduler,
  type DeliverySlot,
  deliverySettled,
  readyToPlan,
  startDelivery,
} from "./scheduler.ts";

describe("createCoalescingScheduler", () => {
  test("changes made together are flushed as one batch; settled waits for it", async () => {
    const flushed: string[][] = [];
    const scheduler = createCoalescingScheduler<Set<string>>({
      emptyBatch: () => new Set(),
      flush: async (batch) => {
        flushed.push([...batch]);
      },
      onError: (error) => {
        throw error;
      },
    });
    const running = new AbortController();
    const run = scheduler.run(running.signal);
    for (const key of ["w1", "w2", "w1"]) scheduler.add((batch) => batch.add(key));
    await scheduler.settled();
    expect(flushed).toEqual([["w1", "w2"]]);
    running.abort();
    await run;
  });

  test("a failed flush is reported and the next batch still flushed", async () => {
    const errors: unknown[] = [];
    const flushed: number[] = [];
    const scheduler = createCoalescingScheduler<number[]>({
      emptyBatch: () => [],
      flush: async (batch) => {
        if (batch.includes(1)) throw new Error("boom");
        flushed.push(...batch);
      },
      onError: (error) => errors.push(error),
    });
    const running = new AbortController();
    const run = scheduler.run(running.signal);
    scheduler.add((batch) => batch.push(1));
    await scheduler.settled();
    scheduler.add((batch) => batch.push(2));
    await scheduler.settled();
    expect(errors).toHaveLength(1);
    expect(flushed).toEqual([2]);
    running.abort();
    await run;
    // Once the task has returned nothing waits on it.
    scheduler.add((batch) => batch.push(3));
    await scheduler.settled();
    expect(flushed).toEqual([2]);
  });

  test("a burst of changes for one agent while a delivery is in flight yields exactly one more plan after it", async () => {
    const slot: DeliverySlot = { again: false };
    const planned: number[] = [];
    let version = 0;
    const plan = () => {
      if (!readyToPlan(slot)) return;
      version += 1;
      planned.push(version);
      startDelivery(slot, `v${version}`);
    };
    const scheduler = createCoalescingScheduler<Set<string>>({
      emptyBatch: () => new Set(),
      flush: async () => plan(),
      onError: (error) => {
        throw error;
      },
    });
    const running = new AbortController();
    const run = scheduler.run(running.signal);
    scheduler.add((batch) => batch.add("a1"));
    await scheduler.settled();
    expect(planned).toEqual([1]);
    // Five changes in separate turns while v1 is being applied: no plan yet.
    for (let change = 0; change < 5; change += 1) {
      scheduler.add((batch) => batch.add("a1"));
      await scheduler.settled();
    }
    expect(planned).toEqual([1]);
    // v1 settles: one plan for all five.
    if (deliverySettled(slot, "v1")) plan();
    expect(planned).toEqual([1, 2]);
    // v2 settles with nothing new: no further plan.
    expect(deliverySettled(slot, "v2")).toBe(false);
    expect(slot.inFlight).toBeUndefined();
    running.abort();
    await run;
  });

  test("a status for another version does not free the slot", () => {
    const slot: DeliverySlot = { again: false };
    startDelivery(slot, "v2");
    expect(deliverySettled(slot, "v1")).toBe(false);
    expect(slot.inFlight).toBe("v2");
  });
});
