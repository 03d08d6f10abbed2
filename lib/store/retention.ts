import { type SQL, sql } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { yieldToIo } from "../tasks/index.ts";
import type { Clock } from "../time/index.ts";
import type { Runner } from "./runner.ts";
import type { Repositories } from "./types.ts";
import { checkDate } from "./validate.ts";

/**
 * Retention of what agents send without end (nginx access logs, agent
 * metrics and logs): rows older than a window go, and so do the oldest rows
 * beyond a per-table cap, so a flood inside the window cannot fill the disk.
 *
 * Every DELETE removes at most one batch and is its own use of the writer
 * lock, so the writers queued meanwhile (agents' batches, REST) go between
 * two batches; nothing holds the lock for long.
 */

export const telemetryTables = ["access_logs", "agent_metrics", "agent_logs"] as const;
export type TelemetryTable = (typeof telemetryTables)[number];

export interface RetentionRepository {
  /** Deletes up to `limit` rows of `table` with a timestamp before `before`; returns how many. */
  deleteOlderThan(table: TelemetryTable, before: Date, limit: number): Promise<number>;
  /** Deletes the `limit` rows of `table` that arrived first; returns how many. */
  deleteOldest(table: TelemetryTable, limit: number): Promise<number>;
  /** How many rows `table` holds. */
  count(table: TelemetryTable): Promise<number>;
  /**
   * At least count(table), in O(log n): the span of the arrival keys. A
   * table whose span is within a cap needs no exact count.
   */
  countUpperBound(table: TelemetryTable): Promise<number>;
}

/** One DELETE's bound: 5,000 access-log rows took 90–130 ms on 2 shared cores (100k-row table). */
export const RETENTION_BATCH_MAX = 5000;

function checkTable(table: TelemetryTable): void {
  if (!(telemetryTables as readonly string[]).includes(table)) {
    throw invalidField("table", `must be one of ${telemetryTables.join(", ")}`);
  }
}

function checkBatch(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > RETENTION_BATCH_MAX) {
    throw invalidField("limit", `must be an integer from 1 to ${RETENTION_BATCH_MAX}`);
  }
}

/**
 * Rows of `table` with a timestamp before `before`, at most `limit`, through
 * an index. access_logs has no index on timestamp alone: its
 * (workspace_id, timestamp) index is walked workspace by workspace (every
 * row has one; CROSS JOIN keeps workspaces the outer loop). Exported for
 * the test that reads its query plan.
 */
export function olderThan(table: TelemetryTable, before: number, limit: number): SQL {
  if (table === "access_logs") {
    return sql`SELECT a.rowid FROM workspaces AS w CROSS JOIN access_logs AS a
      ON a.workspace_id = w.id AND a.timestamp < ${before} LIMIT ${limit}`;
  }
  return sql`SELECT rowid FROM ${sql.identifier(table)} WHERE timestamp < ${before} LIMIT ${limit}`;
}

export function createRetentionRepository(run: Runner): RetentionRepository {
  return {
    deleteOlderThan: (table, before, limit) =>
      run(async (db) => {
        checkTable(table);
        checkDate("before", before);
        checkBatch(limit);
        const rows = await db.all(
          sql`DELETE FROM ${sql.identifier(table)} WHERE rowid IN (${olderThan(table, before.getTime(), limit)}) RETURNING 1`,
        );
        return rows.length;
      }),

    deleteOldest: (table, limit) =>
      run(async (db) => {
        checkTable(table);
        checkBatch(limit);
        // rowid grows with each insert (agent_metrics/agent_logs: seq, AUTOINCREMENT).
        const rows = await db.all(
          sql`DELETE FROM ${sql.identifier(table)} WHERE rowid IN (SELECT rowid FROM ${sql.identifier(table)} ORDER BY rowid LIMIT ${limit}) RETURNING 1`,
        );
        return rows.length;
      }),

    count: (table) =>
      run(async (db) => {
        checkTable(table);
        const [row] = await db.all<{ n: number }>(
          sql`SELECT count(*) AS n FROM ${sql.identifier(table)}`,
        );
        return Number(row?.n ?? 0);
      }),

    countUpperBound: (table) =>
      run(async (db) => {
        checkTable(table);
        // Separate subqueries: SQLite reads min() or max() alone off the b-tree's end, both together by a scan.
        const name = sql.identifier(table);
        const [row] = await db.all<{ span: number | null }>(
          sql`SELECT (SELECT max(rowid) FROM ${name}) - (SELECT min(rowid) FROM ${name}) + 1 AS span`,
        );
        return Number(row?.span ?? 0);
      }),
  };
}

export interface TelemetryRetentionPolicy {
  /** Rows older than this many days go; 1–3650, default 7. */
  retentionDays?: number;
  /** Rows kept per table at most, the oldest beyond deleted; default TELEMETRY_MAX_ROWS. */
  maxRowsPerTable?: number;
  /** Rows per DELETE; 1–RETENTION_BATCH_MAX, default RETENTION_BATCH_MAX. */
  batchSize?: number;
}

export const RETENTION_DAYS_DEFAULT = 7;
export const RETENTION_DAYS_MAX = 3650;
/**
 * 5 million rows a table: about 1.8 GB of access logs with their indexes
 * (≈ 360 bytes a row, measured), which a homelab disk holds. 10 agents × 1
 * request/s take ~6 days to fill it (the 7-day window rules); a flood or
 * 10,000 busy agents hit the cap first.
 */
export const TELEMETRY_MAX_ROWS = 5_000_000;

const dayMs = 86_400_000;

export interface RetentionSweep {
  /** Rows deleted per table, by age and by the cap together. */
  deleted: Record<TelemetryTable, number>;
  /** The most rows one DELETE removed. */
  largestBatch: number;
}

/** Checks a policy and fills its defaults; an invalid one throws naming the field. */
export function retentionPolicy(
  policy: TelemetryRetentionPolicy = {},
): Required<TelemetryRetentionPolicy> {
  const days = policy.retentionDays ?? RETENTION_DAYS_DEFAULT;
  if (!Number.isInteger(days) || days < 1 || days > RETENTION_DAYS_MAX) {
    throw invalidField(
      "retentionDays",
      `must be a whole number of days from 1 to ${RETENTION_DAYS_MAX}`,
    );
  }
  const maxRows = policy.maxRowsPerTable ?? TELEMETRY_MAX_ROWS;
  if (!Number.isSafeInteger(maxRows) || maxRows < 1) {
    throw invalidField("maxRowsPerTable", "must be a positive integer");
  }
  const batchSize = policy.batchSize ?? RETENTION_BATCH_MAX;
  checkBatch(batchSize);
  return { retentionDays: days, maxRowsPerTable: maxRows, batchSize };
}

/**
 * One retention pass over every telemetry table: first what is older than
 * the window (by the clock), then the oldest beyond the cap. Batch by batch,
 * letting other work in between; stops between batches once signal aborts.
 */
export async function pruneTelemetry(
  store: Pick<Repositories, "retention">,
  clock: Clock,
  policy: TelemetryRetentionPolicy = {},
  signal?: AbortSignal,
): Promise<RetentionSweep> {
  const { retentionDays, maxRowsPerTable, batchSize } = retentionPolicy(policy);
  const before = new Date(clock.now().getTime() - retentionDays * dayMs);
  const sweep: RetentionSweep = {
    deleted: { access_logs: 0, agent_metrics: 0, agent_logs: 0 },
    largestBatch: 0,
  };
  /** Runs batches until one comes back short or `want` rows are gone. */
  const drain = async (
    table: TelemetryTable,
    batch: (limit: number) => Promise<number>,
    want = Infinity,
  ) => {
    let left = want;
    while (left > 0 && !signal?.aborted) {
      const limit = Math.min(batchSize, left);
      const deleted = await batch(limit);
      sweep.deleted[table] += deleted;
      sweep.largestBatch = Math.max(sweep.largestBatch, deleted);
      left -= deleted;
      if (deleted < limit) return;
      await yieldToIo();
    }
  };
  for (const table of telemetryTables) {
    await drain(table, (limit) => store.retention.deleteOlderThan(table, before, limit));
    if (signal?.aborted) break;
    if ((await store.retention.countUpperBound(table)) <= maxRowsPerTable) continue;
    const excess = (await store.retention.count(table)) - maxRowsPerTable;
    if (excess > 0)
      await drain(table, (limit) => store.retention.deleteOldest(table, limit), excess);
  }
  return sweep;
}
