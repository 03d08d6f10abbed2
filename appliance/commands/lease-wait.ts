import { DroverError } from "../../lib/errors/index.ts";
import { formatDuration } from "../../lib/time/index.ts";
import type { Item } from "../resources.ts";
import type { RestClient } from "../rest-client.ts";

/** What waiting for a lease needs; the clock and the pause come in so a test can drive them. */
export interface LeaseWaitDeps {
  client: RestClient;
  /** Progress lines (stderr). */
  progress: (line: string) => void;
  now: () => number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  pause: (ms: number, signal: AbortSignal) => Promise<void>;
  signal: AbortSignal;
}

const POLL_MS = 500;
/** Waits shorter than this show no progress. */
const QUIET_MS = 1000;

const advice: Record<string, string> = {
  NoMatch:
    "no exporter of the workspace matches the selector; `drover exporters list` shows their labels",
  NoAccess:
    "your lease policy covers none of the matching exporters; ask an admin of the workspace (its lease-policies)",
  DurationExceedsPolicy:
    "the duration is longer than your lease policy allows; ask for a shorter --duration",
};

/** Why a lease that ended cannot be used, and what to do instead. */
export function endedError(lease: Item): DroverError {
  const reason = String(lease.reason);
  const message = lease.message ? `: ${String(lease.message)}` : "";
  const next = advice[reason] ?? "request a new lease";
  return new DroverError(
    "failed_precondition",
    `lease ${String(lease.name)} ended (${reason})${message}\n${next}`,
  );
}

/** One line of where a lease is, for progress and for a timeout. */
function whereItIs(lease: Item, exporter: Item | undefined): string {
  if (lease.phase === "Pending") {
    return `queued at position ${String(lease.queue_position ?? "?")} (${String(lease.reason)})`;
  }
  return `granted on exporter ${String(lease.exporter_id)}, which is ${String(exporter?.status ?? "not ready")}`;
}

/**
 * Polls the lease until it is Ready and its exporter reports LeaseReady, and
 * answers the lease. An ended lease fails with its reason and what to do; a
 * timeout or an interrupt releases nothing and says how to.
 */
export async function waitUntilReady(
  deps: LeaseWaitDeps,
  name: string,
  timeoutMs: number,
): Promise<Item> {
  const { client, progress, now, pause, signal } = deps;
  const start = now();
  let shown = "";
  for (;;) {
    const lease = (await client.call("GET", `/leases/${encodeURIComponent(name)}`)) as Item;
    if (lease.phase === "Ended") throw endedError(lease);
    const exporter =
      lease.phase === "Ready"
        ? ((await client.call(
            "GET",
            `/exporters/${encodeURIComponent(String(lease.exporter_id))}`,
          )) as Item)
        : undefined;
    if (exporter?.status === "LeaseReady") return lease;
    const where = whereItIs(lease, exporter);
    const waited = now() - start;
    if (where !== shown && waited >= QUIET_MS) {
      progress(`lease ${name}: ${where}\n`);
      shown = where;
    }
    const stop = signal.aborted ? "interrupted" : waited >= timeoutMs ? "timed out" : undefined;
    if (stop !== undefined) {
      const held = lease.phase === "Ready" ? "is held" : "stays in the queue";
      throw new DroverError(
        "deadline_exceeded",
        `${stop} after ${formatDuration(Math.round(waited / 1000) * 1000)}: lease ${name} is still ${where}; it ${held}.\nRelease it with: drover lease release ${name}`,
      );
    }
    await pause(Math.min(POLL_MS, Math.max(0, timeoutMs - waited)), signal);
  }
}
