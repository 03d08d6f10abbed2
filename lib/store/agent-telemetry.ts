import { and, desc, eq, gte, inArray, lt } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import type { StoreDb } from "./db.ts";
import type { Runner } from "./runner.ts";
import { agentLogs, agentMetrics } from "./schema.ts";
import { atomically } from "./transaction.ts";
import { checkDate, checkLimit, checkText, plain } from "./validate.ts";

/** What agents push about themselves (NxMesh's MetricsBatch and LogBatch), not nginx's traffic. */

export const agentMetricTypes = ["gauge", "counter", "histogram"] as const;
export type AgentMetricType = (typeof agentMetricTypes)[number];

/** Lowest first: a query's `level` is the minimum it returns. */
export const agentLogLevels = ["debug", "info", "warn", "error"] as const;
export type AgentLogLevel = (typeof agentLogLevels)[number];

export type AgentMetricRow = typeof agentMetrics.$inferSelect;
export type NewAgentMetric = Omit<AgentMetricRow, "seq">;
export type AgentLogRow = typeof agentLogs.$inferSelect;
export type NewAgentLog = Omit<AgentLogRow, "seq">;

interface AgentWindow {
  agentId: string;
  /** Only rows written while the agent was in this workspace; undefined: any. */
  workspaceId?: string;
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  limit: number;
}

export interface AgentMetricFilter extends AgentWindow {
  name?: string;
}

export interface AgentLogFilter extends AgentWindow {
  /** The minimum level. */
  level?: AgentLogLevel;
}

export interface AgentTelemetryRepository {
  /** Rows are checked by the caller (lib/delivery/telemetry.ts); here only their shape. */
  insertMetrics(rows: NewAgentMetric[]): Promise<number>;
  insertLogs(rows: NewAgentLog[]): Promise<number>;
  /** Newest first. */
  listMetrics(filter: AgentMetricFilter): Promise<AgentMetricRow[]>;
  /** Newest first. */
  listLogs(filter: AgentLogFilter): Promise<AgentLogRow[]>;
}

// 8 columns a row: 100 rows stay under SQLite's oldest bound-parameter limit (999).
const CHUNK = 100;

function checkCommon(row: NewAgentMetric | NewAgentLog, at: string): void {
  checkText(`${at}.agentId`, row.agentId);
  if (row.workspaceId !== null) checkText(`${at}.workspaceId`, row.workspaceId);
  checkDate(`${at}.timestamp`, row.timestamp);
}

function checkWindow(filter: AgentWindow): void {
  checkText("agentId", filter.agentId);
  checkDate("from", filter.from);
  checkDate("to", filter.to);
  checkLimit(filter.limit);
}

/** Inserts in chunks, all or nothing. */
function insertChunked<T>(
  run: Runner,
  values: T[],
  insert: (db: StoreDb, chunk: T[]) => Promise<unknown>,
): Promise<number> {
  if (values.length === 0) return Promise.resolve(0);
  return run((db) =>
    atomically(db, async () => {
      for (let i = 0; i < values.length; i += CHUNK) await insert(db, values.slice(i, i + CHUNK));
      return values.length;
    }),
  );
}

export function createAgentTelemetryRepository(run: Runner): AgentTelemetryRepository {
  return {
    insertMetrics(rows) {
      for (const [i, row] of rows.entries()) {
        checkCommon(row, `rows.${i}`);
        checkText(`rows.${i}.name`, row.name);
        if (!Number.isFinite(row.value)) throw invalidField(`rows.${i}.value`, "must be finite");
        if (!agentMetricTypes.includes(row.type))
          throw invalidField(`rows.${i}.type`, "must be gauge, counter or histogram");
      }
      return insertChunked(
        run,
        rows.map((row) => ({ ...row, labels: plain(row.labels) })),
        (db, chunk) => db.insert(agentMetrics).values(chunk),
      );
    },

    insertLogs(rows) {
      for (const [i, row] of rows.entries()) {
        checkCommon(row, `rows.${i}`);
        if (!agentLogLevels.includes(row.level))
          throw invalidField(`rows.${i}.level`, "must be debug, info, warn or error");
        if (typeof row.message !== "string")
          throw invalidField(`rows.${i}.message`, "must be a string");
      }
      return insertChunked(
        run,
        rows.map((row) => ({ ...row, fields: plain(row.fields) })),
        (db, chunk) => db.insert(agentLogs).values(chunk),
      );
    },

    listMetrics(filter) {
      checkWindow(filter);
      return run((db) =>
        db
          .select()
          .from(agentMetrics)
          .where(
            and(
              eq(agentMetrics.agentId, filter.agentId),
              filter.workspaceId === undefined
                ? undefined
                : eq(agentMetrics.workspaceId, filter.workspaceId),
              filter.name === undefined ? undefined : eq(agentMetrics.name, filter.name),
              gte(agentMetrics.timestamp, filter.from),
              lt(agentMetrics.timestamp, filter.to),
            ),
          )
          .orderBy(desc(agentMetrics.timestamp), desc(agentMetrics.seq))
          .limit(filter.limit),
      );
    },

    listLogs(filter) {
      checkWindow(filter);
      const levels =
        filter.level === undefined
          ? undefined
          : agentLogLevels.slice(agentLogLevels.indexOf(filter.level));
      return run((db) =>
        db
          .select()
          .from(agentLogs)
          .where(
            and(
              eq(agentLogs.agentId, filter.agentId),
              filter.workspaceId === undefined
                ? undefined
                : eq(agentLogs.workspaceId, filter.workspaceId),
              levels === undefined ? undefined : inArray(agentLogs.level, levels),
              gte(agentLogs.timestamp, filter.from),
              lt(agentLogs.timestamp, filter.to),
            ),
          )
          .orderBy(desc(agentLogs.timestamp), desc(agentLogs.seq))
          .limit(filter.limit),
      );
    },
  };
}
