import type { CommittedEvent, EventBus } from "../events/index.ts";
import type { Logger } from "../log/index.ts";
import type { Clock, Timers } from "../time/index.ts";
import type { PassScope } from "./scheduler.ts";

/** After a failed pass, the scheduler tries again (a full pass) this much later. */
const RETRY_MS = 1_000;

/**
 * What an event asks of the scheduler: nothing, a look at the queue (supply
 * or demand changed), or a full pass (access, policies, labels, workspaces:
 * what judges held leases too). The engine's own writes (a grant, a reason,
 * an extension, a warning) decide nothing new: their deadlines are told to
 * the loop directly, so they never cost a pass.
 */
function passFor(event: CommittedEvent): PassScope | undefined {
  switch (event.type) {
    case "lease.requested": // the request path serves the queue itself
    case "lease.granted":
    case "lease.pending":
    case "lease.extended":
    case "lease.expiring":
    case "exporter.lease_interrupted": // its grace end is a deadline (graceEndOf)
    case "exporter.driver_called":
      return undefined;
    case "lease.ended":
    case "exporter.registered":
    case "exporter.status_changed":
      return "queue";
  }
  const { changes } = event;
  if (
    (changes.agents?.length ?? 0) > 0 ||
    (changes.workspaces?.length ?? 0) > 0 ||
    event.type.startsWith("member.") ||
    event.type === "lease.policies_updated"
  )
    return "all";
  if ((changes.leases?.length ?? 0) > 0 || (changes.exporters?.length ?? 0) > 0) return "queue";
  return undefined;
}

/** The grace end an exporter.lease_interrupted event announces, ms; undefined for any other event. */
function graceEndOf(event: CommittedEvent): number | undefined {
  if (event.type !== "exporter.lease_interrupted") return undefined;
  const graceEnds = (event.data as { grace_ends_at?: unknown }).grace_ends_at;
  const at = typeof graceEnds === "string" ? Date.parse(graceEnds) : Number.NaN;
  return Number.isNaN(at) ? undefined : at;
}

export interface SchedulerLoop {
  /** Something changed that a pass of this scope should look at. */
  wake(scope: PassScope): void;
  /** Something is due at `at` (ms): a full pass runs then, unless one is due earlier. */
  dueAt(at: number): void;
  /** Passes as woken and as due, until the signal aborts: a full pass first. */
  run(signal: AbortSignal): Promise<void>;
}

/**
 * The scheduler's wake-ups: events (as passFor classifies them) and
 * deadlines. A full pass at start, at every deadline and after access or
 * policy changes recomputes every deadline; between them, a queue pass
 * reads only the pending leases, and a told deadline only moves the timer.
 */
export function createSchedulerLoop(deps: {
  events: EventBus;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  pass: (scope: PassScope) => Promise<Date | undefined>;
}): SchedulerLoop {
  const { events, clock, timers, logger, pass } = deps;
  let full = true;
  let queue = false;
  let deadline: number | undefined;
  let interrupt: (() => void) | undefined;

  const dueAt = (at: number) => {
    if (deadline !== undefined && deadline <= at) return;
    deadline = at;
    interrupt?.();
  };
  const wake = (scope: PassScope) => {
    if (scope === "all") full = true;
    else queue = true;
    interrupt?.();
  };

  async function step(scope: PassScope): Promise<void> {
    try {
      const next = await pass(scope);
      if (next) dueAt(next.getTime());
    } catch (error) {
      logger.error("lease scheduler pass failed", { scope, error: String(error) });
      dueAt(clock.now().getTime() + RETRY_MS);
    }
  }

  /** Until woken, the deadline comes, or the signal aborts. */
  function sleep(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let cancel = () => {};
      const done = () => {
        cancel();
        signal.removeEventListener("abort", done);
        interrupt = undefined;
        resolve();
      };
      if (deadline !== undefined)
        cancel = timers.after(Math.max(0, deadline - clock.now().getTime()), done);
      interrupt = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  return {
    wake,
    dueAt,
    async run(signal) {
      const unsubscribe = events.subscribe((event) => {
        const graceEnd = graceEndOf(event);
        if (graceEnd !== undefined) dueAt(graceEnd);
        const scope = passFor(event);
        if (scope) wake(scope);
      });
      try {
        while (!signal.aborted) {
          if (full || (deadline !== undefined && deadline <= clock.now().getTime())) {
            // A full pass recomputes every deadline: those told before it are in it.
            full = false;
            queue = false;
            deadline = undefined;
            await step("all");
          } else if (queue) {
            queue = false;
            await step("queue");
          } else {
            await sleep(signal);
          }
        }
      } finally {
        unsubscribe();
      }
    },
  };
}
