import { and, asc, eq, gte, inArray, isNull, type SQL } from "drizzle-orm";
import { rowByKey } from "./by-id.ts";
import type { Lease, LeaseCondition, LeasePhase } from "./lease-records.ts";
import type { Runner } from "./runner.ts";
import { leases, type StoredLeaseCondition } from "./schema.ts";
import { plain, returned } from "./validate.ts";

type LeaseRow = typeof leases.$inferSelect;

/** A lease to insert: the store assigns its sequence. */
export type NewLease = Omit<Lease, "sequence">;

/** A lease as stored: with when its expiry warning went out for the current end. */
export interface StoredLease extends Lease {
  warnedAt?: Date;
}

export interface LeaseFilter {
  workspaceIds?: readonly string[];
  phases?: readonly LeasePhase[];
  client?: string;
}

/** Every write is one UPDATE guarded by the state it expects; null when that state was gone. */
export interface LeaseRepository {
  insert(lease: NewLease): Promise<StoredLease>;
  get(name: string): Promise<StoredLease | null>;
  /** In request order. */
  list(filter: LeaseFilter): Promise<StoredLease[]>;
  /** Whether a lease of the workspace waits with at least this priority (one would be served before a new one). */
  hasPendingAtOrAbove(workspaceId: string, priority: number): Promise<boolean>;
  /** Pending → Ready, only if still Pending. */
  grant(
    name: string,
    grant: { exporterId: string; fencingToken: number; beginTime: Date; endTime: Date },
    conditions: LeaseCondition[],
  ): Promise<StoredLease | null>;
  /** A pending lease's reason, only if still Pending with the reason read. */
  setPendingReason(
    name: string,
    expectedReason: string,
    reason: string,
    conditions: LeaseCondition[],
  ): Promise<StoredLease | null>;
  /** Ends a lease still in `expected.phase` (and with `expected.endTime`, if given). */
  end(
    name: string,
    expected: { phase: "Pending" | "Ready"; endTime?: Date },
    ending: { reason: string; message: string; endedAt: Date },
    conditions: LeaseCondition[],
  ): Promise<StoredLease | null>;
  /** A Ready lease's new end, only if its end is still the one read; clears the warning. */
  extend(name: string, expectedEnd: Date, endTime: Date): Promise<StoredLease | null>;
  /** Marks the expiry warning sent for the current end, once. */
  markWarned(name: string, expectedEnd: Date, at: Date): Promise<boolean>;
}

function toStored(conditions: readonly LeaseCondition[]): StoredLeaseCondition[] {
  return conditions.map((c) => ({ ...c, lastTransitionTime: c.lastTransitionTime.getTime() }));
}

function toLease(row: LeaseRow): StoredLease {
  return {
    name: row.name,
    workspaceId: row.workspaceId,
    organizationId: row.organizationId,
    client: row.client,
    selector: row.selector,
    durationMs: row.durationMs,
    ...(row.notBefore ? { notBefore: row.notBefore } : {}),
    priority: row.priority,
    requestedAt: row.requestedAt,
    sequence: row.sequence,
    phase: row.phase,
    reason: row.reason,
    message: row.message,
    ...(row.exporterId !== null ? { exporterId: row.exporterId } : {}),
    ...(row.fencingToken !== null ? { fencingToken: row.fencingToken } : {}),
    ...(row.beginTime ? { beginTime: row.beginTime } : {}),
    ...(row.endTime ? { endTime: row.endTime } : {}),
    ...(row.endedAt ? { endedAt: row.endedAt } : {}),
    conditions: row.conditions.map((c) => ({
      type: c.type as LeaseCondition["type"],
      status: c.status as LeaseCondition["status"],
      reason: c.reason,
      message: c.message,
      lastTransitionTime: new Date(c.lastTransitionTime),
    })),
    ...(row.warnedAt ? { warnedAt: row.warnedAt } : {}),
  };
}

function one(rows: LeaseRow[]): StoredLease | null {
  const [row] = rows;
  return row === undefined ? null : toLease(row);
}

export function createLeaseRepository(run: Runner): LeaseRepository {
  const update = (values: Partial<typeof leases.$inferInsert>, where: SQL | undefined) =>
    run(async (db) => one(await db.update(leases).set(values).where(where).returning()));

  return {
    insert: (lease) =>
      run(async (db) =>
        toLease(
          returned(
            await db
              .insert(leases)
              .values({
                ...lease,
                selector: lease.selector.map((term) => plain(term)),
                notBefore: lease.notBefore ?? null,
                exporterId: lease.exporterId ?? null,
                fencingToken: lease.fencingToken ?? null,
                beginTime: lease.beginTime ?? null,
                endTime: lease.endTime ?? null,
                endedAt: lease.endedAt ?? null,
                conditions: toStored(lease.conditions),
              })
              .returning(),
          ),
        ),
      ),

    get: (name) =>
      run(async (db) => {
        const row = await rowByKey(db, leases, leases.name, name);
        return row === null ? null : toLease(row);
      }),

    list: (filter) =>
      run(async (db) => {
        const rows = await db
          .select()
          .from(leases)
          .where(
            and(
              filter.workspaceIds
                ? inArray(leases.workspaceId, [...filter.workspaceIds])
                : undefined,
              filter.phases ? inArray(leases.phase, [...filter.phases]) : undefined,
              filter.client !== undefined ? eq(leases.client, filter.client) : undefined,
            ),
          )
          .orderBy(asc(leases.sequence));
        return rows.map(toLease);
      }),

    hasPendingAtOrAbove: (workspaceId, priority) =>
      run(async (db) => {
        const rows = await db
          .select({ name: leases.name })
          .from(leases)
          .where(
            and(
              eq(leases.phase, "Pending"),
              gte(leases.priority, priority),
              eq(leases.workspaceId, workspaceId),
            ),
          )
          .limit(1);
        return rows.length > 0;
      }),

    grant: (name, grant, conditions) =>
      update(
        {
          phase: "Ready",
          reason: "Ready",
          message: "",
          exporterId: grant.exporterId,
          fencingToken: grant.fencingToken,
          beginTime: grant.beginTime,
          endTime: grant.endTime,
          conditions: toStored(conditions),
          warnedAt: null,
        },
        and(eq(leases.name, name), eq(leases.phase, "Pending")),
      ),

    setPendingReason: (name, expectedReason, reason, conditions) =>
      update(
        { reason, conditions: toStored(conditions) },
        and(eq(leases.name, name), eq(leases.phase, "Pending"), eq(leases.reason, expectedReason)),
      ),

    end: (name, expected, ending, conditions) =>
      update(
        { phase: "Ended", ...ending, conditions: toStored(conditions) },
        and(
          eq(leases.name, name),
          eq(leases.phase, expected.phase),
          expected.endTime ? eq(leases.endTime, expected.endTime) : undefined,
        ),
      ),

    extend: (name, expectedEnd, endTime) =>
      update(
        { endTime, warnedAt: null },
        and(eq(leases.name, name), eq(leases.phase, "Ready"), eq(leases.endTime, expectedEnd)),
      ),

    markWarned: async (name, expectedEnd, at) =>
      (await update(
        { warnedAt: at },
        and(
          eq(leases.name, name),
          eq(leases.phase, "Ready"),
          eq(leases.endTime, expectedEnd),
          isNull(leases.warnedAt),
        ),
      )) !== null,
  };
}
