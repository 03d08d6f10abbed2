import type { EventBus, EventTransaction } from "../events/index.ts";
import type { Store, StoredLease } from "../store/index.ts";
import type { Clock } from "../time/index.ts";
import { holdersOf } from "./access.ts";
import { leaseConditions } from "./conditions.ts";
import { effectivePolicies } from "./policy.ts";
import { schedule } from "./schedule.ts";
import {
  emitStatusChanged,
  endLease,
  grantLease,
  leasePayload,
  transition,
} from "./transitions.ts";
import type { Exporter, LeasePolicy } from "./types.ts";

export interface SchedulerDeps {
  store: Store;
  events: EventBus;
  clock: Clock;
}

export interface SchedulerTiming {
  graceMs: number;
  /** Fixed warning lead; undefined: min(5 minutes, a fifth of the lease). */
  warningMs?: number;
}

const FIVE_MINUTES = 300_000;
/** A pass repeats while its decisions change the store; more than this means a livelock. */
const MAX_ROUNDS = 20;

function warningLead(lease: StoredLease, timing: SchedulerTiming): number {
  if (timing.warningMs !== undefined) return timing.warningMs;
  const span = (lease.endTime?.getTime() ?? 0) - (lease.beginTime?.getTime() ?? 0);
  return Math.min(FIVE_MINUTES, Math.floor(span / 5));
}

/**
 * When a held lease next needs the scheduler: its expiry warning, or its end
 * once warned (the exporter's grace and the holder's credential are apart).
 */
export function heldDeadline(lease: StoredLease, timing: SchedulerTiming): number {
  const end = lease.endTime?.getTime() ?? 0;
  return lease.warnedAt !== undefined ? end : end - warningLead(lease, timing);
}

/** What a pass looks at: everything live, or the queue alone (see round). */
export type PassScope = "all" | "queue";

/**
 * The scheduler's pass: reads the live leases and the exporters, decides
 * (ends, warnings, grants, reasons) and applies each decision as its own
 * guarded transaction, until a round changes nothing. Returns the next
 * moment something is due (an end, a warning, a grace end, a window's start).
 */
export function createScheduler(deps: SchedulerDeps, timing: SchedulerTiming) {
  const { store, events, clock } = deps;

  /**
   * One round over one snapshot; whether it wrote anything, and the next
   * deadline. "all": every live lease (ends, warnings, grace ends, access)
   * and the queue. "queue": the pending leases only, with the exporters of
   * their workspaces; nothing to read past one query when the queue is empty.
   */
  async function round(scope: PassScope): Promise<{ changed: boolean; next: number | undefined }> {
    const now = clock.now();
    const at = now.getTime();
    const live = await store.leases.list({
      phases: scope === "all" ? ["Pending", "Ready"] : ["Pending"],
    });
    if (live.length === 0) return { changed: false, next: undefined };
    const workspaceIds = [...new Set(live.map((lease) => lease.workspaceId))];
    const exporters = await store.exporters.list({ workspaceIds });
    const byId = new Map(exporters.map((exporter) => [exporter.id, exporter]));
    const stored = await store.leasePolicies.listFor(workspaceIds);
    const policies = (id: string): readonly LeasePolicy[] =>
      effectivePolicies(stored.get(id) ?? []);
    const holders = await holdersOf(store, live, now);
    let changed = false;
    let next: number | undefined;
    const due = (when: number) => {
      next = next === undefined ? when : Math.min(next, when);
    };
    const apply = async <T>(fn: (tx: EventTransaction) => Promise<T>): Promise<T | undefined> => {
      changed = true; // written or lost: either way the snapshot is stale
      return transition(events, fn);
    };

    const pending: StoredLease[] = [];
    for (const lease of live) {
      if (holders.of(lease.client, lease.organizationId).role === undefined) {
        await apply((tx) =>
          endLease(
            tx,
            lease,
            { reason: "ClientRemoved", message: `${lease.client} no longer has access` },
            now,
          ),
        );
        continue;
      }
      const credentialEnds = holders.credentialEnds(lease.client);
      if (credentialEnds) due(credentialEnds.getTime());
      if (lease.phase === "Pending") {
        pending.push(lease);
        continue;
      }
      await readyLease(lease, byId.get(lease.exporterId ?? ""), now, apply, due);
    }

    const plan = schedule({
      exporters,
      pending: pending.map((lease) => ({
        ...lease,
        holder: holders.of(lease.client, lease.organizationId),
      })),
      policies,
      now,
    });
    const byName = new Map(pending.map((lease) => [lease.name, lease]));
    for (const [name, reason] of plan.unsatisfiable) {
      const lease = byName.get(name);
      if (lease) await apply((tx) => endLease(tx, lease, { reason }, now));
    }
    for (const { lease: name, exporterId } of plan.grants) {
      const lease = byName.get(name);
      const granted = lease && (await apply((tx) => grantLease(tx, lease, exporterId, now)));
      if (granted) due(heldDeadline(granted, timing));
    }
    for (const [name, reason] of plan.waiting) {
      const lease = byName.get(name);
      if (!lease) continue;
      if (reason === "Scheduled" && lease.notBefore) due(lease.notBefore.getTime());
      if (lease.reason === reason) continue;
      await apply(async (tx) => {
        const conditions = leaseConditions(
          { phase: "Pending", reason, message: "" },
          lease.conditions,
          now,
        );
        const updated = await tx.leases.setPendingReason(name, lease.reason, reason, conditions);
        if (!updated) return;
        await tx.emit({
          type: "lease.pending",
          subjectId: name,
          data: { ...leasePayload(updated), previous_reason: lease.reason },
          changes: { leases: [name] },
        });
      });
    }
    // A grant can only follow a change: nothing is due at a fixed time for it.
    return { changed, next: next !== undefined && next <= at ? at : next };
  }

  async function readyLease(
    lease: StoredLease,
    exporter: Exporter | undefined,
    now: Date,
    apply: (fn: (tx: EventTransaction) => Promise<unknown>) => Promise<unknown>,
    due: (when: number) => void,
  ): Promise<void> {
    const at = now.getTime();
    const end = lease.endTime?.getTime() ?? at;
    if (exporter === undefined || exporter.workspaceId !== lease.workspaceId) {
      await apply((tx) => endLease(tx, lease, { reason: "ExporterRemoved" }, now));
      return;
    }
    if (end <= at) {
      await apply((tx) => endLease(tx, lease, { reason: "Expired", guardEnd: true }, now));
      return;
    }
    if (!exporter.online && exporter.offlineSince) {
      const graceEnd = exporter.offlineSince.getTime() + timing.graceMs;
      if (graceEnd <= at) {
        const message = `exporter offline since ${exporter.offlineSince.toISOString()}`;
        await apply((tx) => endLease(tx, lease, { reason: "ExporterOffline", message }, now));
        return;
      }
      due(graceEnd);
    }
    const deadline = heldDeadline(lease, timing);
    if (deadline > at) {
      due(deadline);
      return;
    }
    due(end);
    await apply(async (tx) => {
      if (!(await tx.leases.markWarned(lease.name, lease.endTime ?? now, now))) return;
      await tx.emit({
        type: "lease.expiring",
        subjectId: lease.name,
        data: { ...leasePayload(lease), end_time: new Date(end).toISOString() },
        changes: { leases: [lease.name] },
      });
    });
  }

  return {
    /** Rounds over `scope` until nothing changes; the next deadline of what it read, if any. */
    async reconcile(scope: PassScope = "all"): Promise<Date | undefined> {
      let next: number | undefined;
      for (let i = 0; i < MAX_ROUNDS; i++) {
        const result = await round(scope);
        next = result.next;
        if (!result.changed) break;
      }
      return next === undefined ? undefined : new Date(next);
    },

    /**
     * A server start: every exporter is offline until its agent's session
     * opens again, so a held lease's grace runs from now; expired leases end
     * at the first pass.
     */
    async recover(): Promise<void> {
      const now = clock.now();
      await events.commit(async (tx) => {
        for (const id of await tx.exporters.setAllOffline(now)) {
          const exporter = await tx.exporters.get(id);
          if (exporter) await announceOffline(tx, exporter, timing.graceMs);
        }
      });
    },
  };
}

/** exporter.status_changed, and exporter.lease_interrupted when it held a lease. */
export async function announceOffline(
  tx: Parameters<Parameters<EventBus["commit"]>[0]>[0],
  exporter: Exporter,
  graceMs: number,
): Promise<void> {
  await emitStatusChanged(tx, exporter);
  if (exporter.leaseName === undefined || exporter.offlineSince === undefined) return;
  const lease = await tx.leases.get(exporter.leaseName);
  await tx.emit({
    type: "exporter.lease_interrupted",
    subjectId: exporter.id,
    data: {
      exporter_id: exporter.id,
      workspace_id: exporter.workspaceId,
      organization_id: exporter.organizationId,
      lease_name: exporter.leaseName,
      client: lease?.client ?? "",
      offline_since: exporter.offlineSince.toISOString(),
      grace_ends_at: new Date(exporter.offlineSince.getTime() + graceMs).toISOString(),
    },
    changes: { leases: [exporter.leaseName], exporters: [exporter.id] },
  });
}
