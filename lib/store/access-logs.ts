import { and, count, desc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
import { DroverError, invalidField } from "../errors/index.ts";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { accessLogs } from "./schema.ts";
import { atomically } from "./transaction.ts";
import type { AccessLogFilter, AccessLogRepository, NewAccessLog } from "./types.ts";
import { checkDate, checkLimit, checkOffset, checkText } from "./validate.ts";

// 16 columns a row: 60 rows stay under SQLite's oldest bound-parameter limit (999).
const CHUNK = 60;

function checkCount(field: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw invalidField(field, "must be a non-negative integer");
  }
}

function checkRow(row: NewAccessLog, at: string): void {
  for (const key of ["id", "agentId", "workspaceId"] as const) checkText(`${at}.${key}`, row[key]);
  checkDate(`${at}.timestamp`, row.timestamp);
  for (const key of ["remoteAddr", "method", "uri", "protocol", "host"] as const) {
    if (typeof row[key] !== "string") throw invalidField(`${at}.${key}`, "must be a string");
  }
  if (!Number.isInteger(row.status) || row.status < 100 || row.status > 999) {
    throw invalidField(`${at}.status`, "must be an HTTP status code");
  }
  checkCount(`${at}.bodyBytesSent`, row.bodyBytesSent);
  if (row.requestBytes !== undefined) checkCount(`${at}.requestBytes`, row.requestBytes);
  if (!Number.isFinite(row.responseTimeMs) || row.responseTimeMs < 0) {
    throw invalidField(`${at}.responseTimeMs`, "must be a non-negative number");
  }
  for (const key of ["userAgent", "referer", "requestId"] as const) {
    const value = row[key];
    if (value !== undefined && value !== null && typeof value !== "string") {
      throw invalidField(`${at}.${key}`, "must be a string or null");
    }
  }
}

function filterSql(filter: AccessLogFilter): SQL | undefined {
  const { workspaceId, agentId, from, to, status, host } = filter;
  if (from !== undefined) checkDate("from", from);
  if (to !== undefined) checkDate("to", to);
  if (status !== undefined && !Number.isInteger(status)) {
    throw invalidField("status", "must be an integer");
  }
  return and(
    workspaceId === undefined ? undefined : eq(accessLogs.workspaceId, workspaceId),
    agentId === undefined ? undefined : eq(accessLogs.agentId, agentId),
    from === undefined ? undefined : gte(accessLogs.timestamp, from),
    to === undefined ? undefined : lt(accessLogs.timestamp, to),
    status === undefined ? undefined : eq(accessLogs.status, status),
    host === undefined ? undefined : eq(accessLogs.host, host),
  );
}

/** How many matched rows have a status in [low, low + 99]. */
function statusClass(low: number) {
  return sql<number>`coalesce(sum(${accessLogs.status} BETWEEN ${low} AND ${low + 99}), 0)`.mapWith(
    Number,
  );
}

/** The aggregates of stats and series: a row's columns, summed over the group. */
function statsColumns() {
  return {
    total: count(),
    status2xx: statusClass(200),
    status3xx: statusClass(300),
    status4xx: statusClass(400),
    status5xx: statusClass(500),
    bodyBytesSent: sql<number>`coalesce(sum(${accessLogs.bodyBytesSent}), 0)`.mapWith(Number),
    requestBytes: sql<number>`coalesce(sum(${accessLogs.requestBytes}), 0)`.mapWith(Number),
  };
}

export function createAccessLogRepository(run: Runner): AccessLogRepository {
  return {
    insertMany: (rows) =>
      run(async (db) => {
        if (!Array.isArray(rows)) throw invalidField("rows", "must be an array");
        for (const [i, row] of rows.entries()) checkRow(row, `rows.${i}`);
        if (rows.length === 0) return 0;
        const values = rows.map((row) => ({
          id: row.id,
          agentId: row.agentId,
          workspaceId: row.workspaceId,
          timestamp: row.timestamp,
          remoteAddr: row.remoteAddr,
          method: row.method,
          uri: row.uri,
          protocol: row.protocol,
          host: row.host,
          status: row.status,
          bodyBytesSent: row.bodyBytesSent,
          requestBytes: row.requestBytes ?? 0,
          responseTimeMs: row.responseTimeMs,
          userAgent: row.userAgent ?? null,
          referer: row.referer ?? null,
          requestId: row.requestId ?? null,
        }));
        try {
          return await atomically(db, async () => {
            for (let i = 0; i < values.length; i += CHUNK) {
              await db.insert(accessLogs).values(values.slice(i, i + CHUNK));
            }
            return values.length;
          });
        } catch (error) {
          if (isUniqueViolation(error)) {
            throw new DroverError("already_exists", "an access log id of the batch is taken");
          }
          if (isForeignKeyViolation(error)) {
            throw new DroverError("not_found", "a workspace of the batch does not exist");
          }
          throw error;
        }
      }),

    list: ({ limit, offset, ...filter }) =>
      run(async (db) => {
        checkLimit(limit);
        if (offset !== undefined) checkOffset(offset);
        const query = db
          .select()
          .from(accessLogs)
          .where(filterSql(filter))
          .orderBy(desc(accessLogs.timestamp), desc(accessLogs.id))
          .limit(limit);
        return offset === undefined ? query : query.offset(offset);
      }),

    count: (filter = {}) =>
      run(async (db) => {
        const [row] = await db.select({ n: count() }).from(accessLogs).where(filterSql(filter));
        return row?.n ?? 0;
      }),

    stats: (filter = {}) =>
      run(async (db) => {
        const [row] = await db.select(statsColumns()).from(accessLogs).where(filterSql(filter));
        return (
          row ?? {
            total: 0,
            status2xx: 0,
            status3xx: 0,
            status4xx: 0,
            status5xx: 0,
            bodyBytesSent: 0,
            requestBytes: 0,
          }
        );
      }),

    series: (filter, bucketMs) =>
      run(async (db) => {
        if (!Number.isSafeInteger(bucketMs) || bucketMs < 1) {
          throw invalidField("bucketMs", "must be a positive integer");
        }
        checkDate("from", filter.from);
        // Timestamps are integer milliseconds: integer division puts each row in its bucket.
        const bucket =
          sql<number>`(${accessLogs.timestamp} - ${filter.from.getTime()}) / ${bucketMs}`
            .mapWith(Number)
            .as("bucket");
        return db
          .select({ bucket, ...statsColumns() })
          .from(accessLogs)
          .where(filterSql(filter))
          .groupBy(sql`bucket`)
          .orderBy(sql`bucket`);
      }),
  };
}
