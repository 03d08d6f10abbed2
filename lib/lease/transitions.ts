import { DroverError } from "../errors/index.ts";
import type { EventBus, EventTransaction, LeasePayload } from "../events/index.ts";
import type { StoredLease } from "../store/index.ts";
import { leaseConditions } from "./conditions.ts";
import type { Exporter, Lease } from "./types.ts";

/**
 * Every transition is one events.commit: guarded writes (each UPDATE names
 * the state it expects) and the events describing them. A guard that finds
 * its state gone throws `lostRace`, which rolls the whole transaction back;
 * the caller reads again and decides again.
 */
const lostRace = new DroverError("failed_precondition", "lease changed concurrently");

export function lost(): never {
  throw lostRace;
}

/** Runs fn as one transaction; undefined if a guard found its state gone (nothing was written). */
export async function transition<T>(
  events: EventBus,
  fn: (tx: EventTransaction) => Promise<T>,
): Promise<T | undefined> {
  try {
    return await events.commit(fn);
  } catch (error) {
    if (error === lostRace) return undefined;
    throw error;
  }
}

export function leasePayload(lease: Lease): LeasePayload {
  return {
    lease_name: lease.name,
    workspace_id: lease.workspaceId,
    organization_id: lease.organizationId,
    client: lease.client,
    phase: lease.phase,
    reason: lease.reason,
    exporter_id: lease.exporterId ?? null,
    fencing_token: lease.fencingToken ?? null,
  };
}

export async function emitStatusChanged(tx: EventTransaction, exporter: Exporter): Promise<void> {
  await tx.emit({
    type: "exporter.status_changed",
    subjectId: exporter.id,
    data: {
      exporter_id: exporter.id,
      workspace_id: exporter.workspaceId,
      organization_id: exporter.organizationId,
      status: exporter.status,
      previous_status: exporter.previousStatus ?? null,
      status_version: exporter.statusVersion,
      message: exporter.statusMessage,
      online: exporter.online,
    },
    changes: { exporters: [exporter.id] },
  });
}

/**
 * Pending → Ready on `exporterId`: the exporter's guarded take (free, online,
 * Available; its fencing counter bumped) and the lease's (still Pending), with
 * lease.granted, in one transaction.
 */
export async function grantLease(
  tx: EventTransaction,
  lease: Lease,
  exporterId: string,
  now: Date,
): Promise<StoredLease> {
  const fencingToken = (await tx.exporters.take(exporterId, lease.name, now)) ?? lost();
  const endTime = new Date(now.getTime() + lease.durationMs);
  const granted =
    (await tx.leases.grant(
      lease.name,
      { exporterId, fencingToken, beginTime: now, endTime },
      leaseConditions({ phase: "Ready", reason: "Ready", message: "" }, lease.conditions, now),
    )) ?? lost();
  await tx.emit({
    type: "lease.granted",
    subjectId: lease.name,
    data: {
      ...leasePayload(granted),
      begin_time: now.toISOString(),
      end_time: endTime.toISOString(),
    },
    changes: { leases: [lease.name], exporters: [exporterId] },
  });
  return granted;
}

/**
 * Ends a Pending or Ready lease (guarded on the phase read, and on the end
 * read for expiries). A Ready lease's exporter lets go in the same
 * transaction; `afterLease`: an online exporter turns AfterLease until it
 * reports Available (its hook), so no grant races the hook.
 */
export async function endLease(
  tx: EventTransaction,
  lease: Lease,
  ending: { reason: string; message?: string; guardEnd?: boolean; afterLease?: boolean },
  now: Date,
): Promise<StoredLease> {
  if (lease.phase === "Ended") return lost();
  const message = ending.message ?? "";
  const ended =
    (await tx.leases.end(
      lease.name,
      {
        phase: lease.phase,
        ...(ending.guardEnd && lease.endTime ? { endTime: lease.endTime } : {}),
      },
      { reason: ending.reason, message, endedAt: now },
      leaseConditions({ phase: "Ended", reason: ending.reason, message }, lease.conditions, now),
    )) ?? lost();
  const exporterId = lease.phase === "Ready" ? lease.exporterId : undefined;
  if (exporterId !== undefined) {
    const before = await tx.exporters.get(exporterId);
    const freed = await tx.exporters.free(exporterId, lease.name, now, ending.afterLease ?? true);
    if (freed && before && freed.statusVersion !== before.statusVersion) {
      await emitStatusChanged(tx, freed);
    }
  }
  await tx.emit({
    type: "lease.ended",
    subjectId: lease.name,
    data: { ...leasePayload(ended), ended_at: now.toISOString(), message },
    changes: { leases: [lease.name], ...(exporterId ? { exporters: [exporterId] } : {}) },
  });
  return ended;
}
