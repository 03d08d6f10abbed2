import type { Principal } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import type { EventBus, EventTransaction } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import { formatSelector } from "../selector/index.ts";
import type { Store, StoredLease } from "../store/index.ts";
import type { Clock } from "../time/index.ts";
import { holderOf, holdersOf, readableWorkspace } from "./access.ts";
import { leaseConditions } from "./conditions.ts";
import { allowanceFor, effectivePolicies, type LeaseHolder } from "./policy.ts";
import { type LeaseReads, view } from "./reads.ts";
import { type ValidRequest, validateLeaseRequest } from "./request.ts";
import { schedule } from "./schedule.ts";
import { grantLease, leasePayload, lost, transition } from "./transitions.ts";
import type { LeaseRequest, LeaseView, PendingReason, UnsatisfiableReason } from "./types.ts";

export interface RequestOpDeps {
  store: Store;
  events: EventBus;
  clock: Clock;
  reads: LeaseReads;
  /** A queue pass now (a request that could not be granted at once); resolves when it is done. */
  serveQueue: () => Promise<void>;
  /** When a lease granted here next needs the scheduler (ms). */
  dueAt: (at: number) => void;
  /** When a granted lease next needs the scheduler: its warning or its end. */
  deadlineOf: (lease: StoredLease) => number;
}

/** What the request decides before its transaction. */
type Decision =
  | { kind: "unsatisfiable"; reason: UnsatisfiableReason }
  | { kind: "grant"; exporterId: string }
  | { kind: "wait"; reason: PendingReason };

/**
 * A lease request. One that can be granted at once (a free exporter, nobody
 * ahead of it in its workspace's queue) is inserted and granted in one
 * transaction, with the grant's guarded writes, so it never costs a
 * scheduler pass; otherwise it is queued and the queue is served. Only the
 * exporters its selector matches are read: every decision about it (access,
 * priority, reasons) concerns them alone.
 */
export function createRequestOp(deps: RequestOpDeps) {
  const { store, events, clock, reads } = deps;

  async function insert(
    tx: EventTransaction,
    lease: { name: string; valid: ValidRequest; holder: LeaseHolder; organizationId: string },
    decision: Decision,
    now: Date,
  ): Promise<StoredLease> {
    const unsatisfiable = decision.kind === "unsatisfiable";
    const phase = unsatisfiable ? "Ended" : "Pending";
    const reason = decision.kind === "grant" ? "NotAvailable" : decision.reason;
    const message = unsatisfiable
      ? `no exporter of workspace ${lease.valid.workspaceId} can grant this request: ${reason}`
      : "";
    const inserted = await tx.leases.insert({
      name: lease.name,
      workspaceId: lease.valid.workspaceId,
      organizationId: lease.organizationId,
      client: lease.holder.client,
      selector: lease.valid.selector,
      durationMs: lease.valid.durationMs,
      ...(lease.valid.notBefore ? { notBefore: lease.valid.notBefore } : {}),
      priority: lease.valid.priority,
      requestedAt: now,
      phase,
      reason,
      message,
      ...(unsatisfiable ? { endedAt: now } : {}),
      conditions: leaseConditions({ phase, reason, message }, [], now),
    });
    await tx.emit({
      type: "lease.requested",
      subjectId: lease.name,
      data: {
        ...leasePayload(inserted),
        selector: formatSelector(inserted.selector),
        duration_ms: inserted.durationMs,
        priority: inserted.priority,
        sequence: inserted.sequence,
        not_before: inserted.notBefore?.toISOString() ?? null,
      },
      changes: { leases: [lease.name] },
    });
    if (unsatisfiable) {
      await tx.emit({
        type: "lease.ended",
        subjectId: lease.name,
        data: { ...leasePayload(inserted), ended_at: now.toISOString(), message },
        changes: { leases: [lease.name] },
      });
    }
    return inserted;
  }

  return async function request(principal: Principal, asked: LeaseRequest): Promise<LeaseView> {
    const now = clock.now();
    const valid = validateLeaseRequest(asked, now);
    const workspace = await readableWorkspace(store, principal, valid.workspaceId);
    const holder = holderOf(principal, workspace.organizationId);
    const policies = effectivePolicies(await store.leasePolicies.list(workspace.id));
    const matching = await store.exporters.list({
      workspaceId: workspace.id,
      selector: valid.selector,
    });
    const maxPriority = Math.max(
      ...matching.map((e) => allowanceFor(policies, holder, e.labels)?.maxPriority ?? -Infinity),
    );
    if (valid.priority > 0 && valid.priority > maxPriority) {
      throw new DroverError(
        "permission_denied",
        `priority ${valid.priority} is above what your lease policy allows (${Number.isFinite(maxPriority) ? maxPriority : 0})`,
      );
    }
    const name = newId("lease");
    const planFor = (who: LeaseHolder) =>
      schedule({
        exporters: matching,
        pending: [{ ...valid, name, sequence: 0, holder: who }],
        policies: () => policies,
        now,
      });
    const plan = planFor(holder);
    const unsatisfiable = plan.unsatisfiable.get(name);
    // The grant goes by the store's memberships and certificates, as the scheduler judges a holder.
    const judged = await holdersOf(store, [holder], now);
    const storeHolder = judged.of(holder.client, workspace.organizationId);
    const [grant] =
      storeHolder.role === undefined
        ? []
        : storeHolder.role === holder.role
          ? plan.grants
          : planFor(storeHolder).grants;
    const decision: Decision = unsatisfiable
      ? { kind: "unsatisfiable", reason: unsatisfiable }
      : grant
        ? { kind: "grant", exporterId: grant.exporterId }
        : { kind: "wait", reason: plan.waiting.get(name) ?? "NotAvailable" };
    const lease = { name, valid, holder, organizationId: workspace.organizationId };

    if (decision.kind === "grant") {
      // Nobody served before it may be waiting: first come, first served holds across the paths.
      const granted = await transition(events, async (tx) => {
        if (await tx.leases.hasPendingAtOrAbove(workspace.id, valid.priority)) return lost();
        const inserted = await insert(tx, lease, decision, now);
        return grantLease(tx, inserted, decision.exporterId, now);
      });
      if (granted) {
        deps.dueAt(deps.deadlineOf(granted));
        const credentialEnds = judged.credentialEnds(holder.client);
        if (credentialEnds) deps.dueAt(credentialEnds.getTime());
        return view(granted);
      }
    }
    const inserted = await events.commit((tx) => insert(tx, lease, decision, now));
    if (inserted.phase === "Pending") await deps.serveQueue();
    return reads.fresh(principal, name);
  };
}
