import { eq, inArray, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { invalidField } from "../errors/index.ts";
import { isForeignKeyViolation } from "./errors.ts";
import { bound, prepared } from "./prepared.ts";
import type { Runner } from "./runner.ts";
import { agentConfigStatus, agents, configApplyStates } from "./schema.ts";
import type { ConfigReport, ConfigStatusRepository, ConfigStatusRow } from "./types.ts";
import { checkDate, checkText, notFound, returned } from "./validate.ts";

function checkReport(report: ConfigReport): void {
  checkText("version", report.version);
  if (!configApplyStates.includes(report.state))
    throw invalidField("state", "is not an apply state");
  checkDate("at", report.at);
  if (!Array.isArray(report.errors) || !report.errors.every((e) => typeof e === "string"))
    throw invalidField("errors", "must be a list of strings");
  if (
    report.durationMs !== null &&
    !(Number.isInteger(report.durationMs) && report.durationMs >= 0)
  )
    throw invalidField("durationMs", "must be a non-negative integer or null");
}

/** The prepared report updates' keys: a success also sets the applied columns. */
const reportKey = {};
const reportSuccessKey = {};

// 10 columns a row: 90 rows stay under SQLite's oldest bound-parameter limit (999).
const CHUNK = 90;

export function createConfigStatusRepository(run: Runner): ConfigStatusRepository {
  /**
   * One upsert per chunk: a new desired version starts out pending; the same
   * one keeps its state (SQLite reads the old row in every SET expression).
   */
  const setDesiredMany: ConfigStatusRepository["setDesiredMany"] = (entries, at) =>
    run(async (db) => {
      checkDate("at", at);
      entries.forEach((entry, i) => {
        checkText(`entries.${i}.agentId`, entry.agentId);
        checkText(`entries.${i}.version`, entry.version);
      });
      const same = sql`${agentConfigStatus.desiredVersion} = excluded.desired_version`;
      const keep = (column: SQLiteColumn, otherwise: SQL) =>
        sql`CASE WHEN ${same} THEN ${column} ELSE ${otherwise} END`;
      const rows: ConfigStatusRow[] = [];
      try {
        for (let start = 0; start < entries.length; start += CHUNK) {
          const values = entries.slice(start, start + CHUNK).map((entry) => ({
            agentId: entry.agentId,
            desiredVersion: entry.version,
            // Literals, not bound parameters: CHUNK's count holds.
            desiredRevision: sql`1`,
            version: entry.version,
            revision: sql`1`,
            state: "pending" as const,
            errors: [],
            steps: [],
            durationMs: null,
            hosts: entry.hosts,
            files: entry.files ?? [],
            updatedAt: at,
          }));
          rows.push(
            ...(await db
              .insert(agentConfigStatus)
              .values(values)
              .onConflictDoUpdate({
                target: agentConfigStatus.agentId,
                set: {
                  desiredVersion: sql`excluded.desired_version`,
                  desiredRevision: keep(
                    agentConfigStatus.desiredRevision,
                    sql`${agentConfigStatus.desiredRevision} + 1`,
                  ),
                  hosts: sql`excluded.hosts`,
                  files: sql`excluded.files`,
                  updatedAt: sql`excluded.updated_at`,
                  version: keep(agentConfigStatus.version, sql`excluded.version`),
                  revision: keep(
                    agentConfigStatus.revision,
                    sql`${agentConfigStatus.desiredRevision} + 1`,
                  ),
                  state: keep(agentConfigStatus.state, sql`excluded.state`),
                  errors: keep(agentConfigStatus.errors, sql`excluded.errors`),
                  steps: keep(agentConfigStatus.steps, sql`excluded.steps`),
                  durationMs: keep(agentConfigStatus.durationMs, sql`NULL`),
                },
              })
              .returning()),
          );
        }
      } catch (error) {
        if (isForeignKeyViolation(error)) {
          throw notFound(
            "agent",
            entries
              .map((entry) => entry.agentId)
              .join(", ")
              .slice(0, 200),
          );
        }
        throw error;
      }
      return rows;
    });

  return {
    get: (agentId) =>
      run(async (db) => {
        const [row] = await db
          .select()
          .from(agentConfigStatus)
          .where(eq(agentConfigStatus.agentId, agentId));
        return row ?? null;
      }),

    getMany: (agentIds) =>
      run(async (db) =>
        agentIds.length === 0
          ? []
          : db
              .select()
              .from(agentConfigStatus)
              .where(inArray(agentConfigStatus.agentId, [...agentIds])),
      ),

    setDesired: async (agentId, desired) => {
      // Checked here too, so a single call names its own fields.
      checkText("version", desired.version);
      const rows = await setDesiredMany([{ agentId, ...desired }], desired.at);
      return returned(rows);
    },

    setDesiredMany,

    rollout: (workspaceId) =>
      run(async (db) => {
        checkText("workspaceId", workspaceId);
        const s = agentConfigStatus;
        const applied = sql`coalesce(${s.appliedVersion} = ${s.desiredVersion}, 0)`;
        const failed = sql`(NOT ${applied} AND ${s.state} IN ('failed', 'rolled_back'))`;
        const setAside = sql`(SELECT count(*) FROM json_each(${s.hosts}) WHERE json_extract(value, '$.status') = 'set_aside')`;
        const total = (expression: SQL) =>
          sql<number>`coalesce(sum(${expression}), 0)`.mapWith(Number);
        const [row] = await db
          .select({
            agents: sql<number>`count(*)`.mapWith(Number),
            applied: total(applied),
            failed: total(failed),
            setAsideHosts: total(setAside),
          })
          .from(agents)
          .leftJoin(s, eq(s.agentId, agents.id))
          .where(eq(agents.workspaceId, workspaceId));
        const counts = row ?? { agents: 0, applied: 0, failed: 0, setAsideHosts: 0 };
        return { ...counts, pending: counts.agents - counts.applied - counts.failed };
      }),

    report: (agentId, report) =>
      run(async (db) => {
        checkReport(report);
        const success = report.state === "success";
        // Thousands of agents report each change: the update is built once (per outcome).
        const update = prepared(db, success ? reportSuccessKey : reportKey, () => {
          // A report names a hash; its number is the one on record for that
          // hash, or 0 for a late report on a hash no longer on record.
          const revision = sql`CASE ${sql.placeholder("version")} WHEN ${agentConfigStatus.desiredVersion} THEN ${agentConfigStatus.desiredRevision} WHEN ${agentConfigStatus.version} THEN ${agentConfigStatus.revision} WHEN ${agentConfigStatus.appliedVersion} THEN ${agentConfigStatus.appliedRevision} ELSE 0 END`;
          const at = bound("at", agentConfigStatus.updatedAt);
          return db
            .update(agentConfigStatus)
            .set({
              version: bound("version", agentConfigStatus.version),
              revision,
              state: bound("state", agentConfigStatus.state),
              errors: bound("errors", agentConfigStatus.errors),
              steps: bound("steps", agentConfigStatus.steps),
              durationMs: bound("durationMs", agentConfigStatus.durationMs),
              updatedAt: at,
              ...(success
                ? {
                    appliedVersion: bound("version", agentConfigStatus.appliedVersion),
                    appliedRevision: revision,
                    appliedAt: at,
                  }
                : {}),
            })
            .where(eq(agentConfigStatus.agentId, sql.placeholder("agentId")))
            .returning()
            .prepare();
        });
        const [row] = await update.execute({ ...report, agentId });
        if (row === undefined) throw notFound("configuration status of agent", agentId);
        return row;
      }),
  };
}
