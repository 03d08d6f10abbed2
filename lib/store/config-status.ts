import { eq, inArray, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { invalidField } from "../errors/index.ts";
import { yieldToIo } from "../tasks/index.ts";
import { isForeignKeyViolation } from "./errors.ts";
import { bound, prepared } from "./prepared.ts";
import type { Runner } from "./runner.ts";
import { agentConfigStatus, agents, configApplyStates } from "./schema.ts";
import type {
  ConfigReport,
  ConfigStatusRepository,
  ConfigStatusRow,
  ReportedStatus,
} from "./types.ts";
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

/** The prepared upsert's and batched report's keys. */
const desiredKey = {};
const reportManyKey = {};
/**
 * Rows per upsert statement; the event loop runs between statements (the
 * writer stays held), so 10,000 agents' versions never block heartbeats long.
 */
const CHUNK = 500;
/** Reports per batched update. */
const REPORT_CHUNK = 500;

export function createConfigStatusRepository(run: Runner): ConfigStatusRepository {
  /**
   * One prepared upsert per chunk, the rows in one bound JSON parameter: a
   * new desired version starts out pending; the same one keeps its state
   * (SQLite reads the old row in every SET expression). drizzle building a
   * VALUES list per call cost a quarter of a 10,000-agent fan-out (issue 13).
   */
  const setDesiredMany: ConfigStatusRepository["setDesiredMany"] = (entries, at) =>
    run(async (db) => {
      checkDate("at", at);
      entries.forEach((entry, i) => {
        checkText(`entries.${i}.agentId`, entry.agentId);
        checkText(`entries.${i}.version`, entry.version);
      });
      const upsert = prepared(db, desiredKey, () => {
        const s = agentConfigStatus;
        const same = sql`${s.desiredVersion} = excluded.desired_version`;
        const keep = (column: SQLiteColumn, otherwise: SQL) =>
          sql`CASE WHEN ${same} THEN ${column} ELSE ${otherwise} END`;
        const field = (name: string) => sql.raw(`json_extract(j.value, '$.${name}')`);
        return (
          db
            .insert(s)
            // Every column, in the table's order; WHERE true: SQLite's upsert-after-SELECT rule.
            .select(
              sql`SELECT ${field("agentId")}, ${field("version")}, 1, ${field("version")}, 1, 'pending', NULL, NULL, NULL, NULL, '[]', '[]', ${field("hosts")}, ${field("files")}, ${sql.placeholder("at")} FROM json_each(${sql.placeholder("rows")}) AS j WHERE true`,
            )
            .onConflictDoUpdate({
              target: s.agentId,
              set: {
                desiredVersion: sql`excluded.desired_version`,
                desiredRevision: keep(s.desiredRevision, sql`${s.desiredRevision} + 1`),
                hosts: sql`excluded.hosts`,
                files: sql`excluded.files`,
                updatedAt: sql`excluded.updated_at`,
                version: keep(s.version, sql`excluded.version`),
                revision: keep(s.revision, sql`${s.desiredRevision} + 1`),
                state: keep(s.state, sql`excluded.state`),
                errors: keep(s.errors, sql`excluded.errors`),
                steps: keep(s.steps, sql`excluded.steps`),
                durationMs: keep(s.durationMs, sql`NULL`),
              },
            })
            .returning()
            .prepare()
        );
      });
      const rows: ConfigStatusRow[] = [];
      try {
        for (let start = 0; start < entries.length; start += CHUNK) {
          if (start > 0) await yieldToIo();
          const chunk = entries.slice(start, start + CHUNK).map((entry) => ({
            agentId: entry.agentId,
            version: entry.version,
            hosts: entry.hosts,
            files: entry.files ?? [],
          }));
          rows.push(...(await upsert.execute({ rows: JSON.stringify(chunk), at: at.getTime() })));
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

  /** One prepared update per run of distinct agents, the reports in one bound JSON parameter. */
  const reportMany: ConfigStatusRepository["reportMany"] = (entries) =>
    run(async (db) => {
      for (const { agentId, report } of entries) {
        checkText("agentId", agentId);
        checkReport(report);
      }
      const update = prepared(db, reportManyKey, () => {
        const s = agentConfigStatus;
        const field = (name: string) => sql.raw(`json_extract(j.value, '$.${name}')`);
        const version = field("version");
        // As report's: the number on record for the reported hash, else 0.
        const revision = sql`CASE ${version} WHEN ${s.desiredVersion} THEN ${s.desiredRevision} WHEN ${s.version} THEN ${s.revision} WHEN ${s.appliedVersion} THEN ${s.appliedRevision} ELSE 0 END`;
        const onSuccess = (value: SQL, column: SQLiteColumn) =>
          sql`CASE WHEN ${field("state")} = 'success' THEN ${value} ELSE ${column} END`;
        return (
          db
            .update(s)
            .set({
              version: sql`${version}`,
              revision,
              state: sql`${field("state")}`,
              errors: sql`${field("errors")}`,
              steps: sql`${field("steps")}`,
              durationMs: sql`${field("durationMs")}`,
              updatedAt: sql`${field("at")}`,
              appliedVersion: onSuccess(version, s.appliedVersion),
              appliedRevision: onSuccess(revision, s.appliedRevision),
              appliedAt: onSuccess(field("at"), s.appliedAt),
            })
            .from(sql`json_each(${sql.placeholder("rows")}) AS j`)
            .where(eq(s.agentId, field("agentId")))
            // What a report's events name: RETURNING every column cost more than the update.
            .returning({
              agentId: s.agentId,
              version: s.version,
              revision: s.revision,
              state: s.state,
            })
            .prepare()
        );
      });
      const rows: (ReportedStatus | undefined)[] = [];
      let pending: (typeof entries)[number][] = [];
      const named = new Set<string>();
      const write = async () => {
        if (pending.length === 0) return;
        const json = JSON.stringify(
          pending.map(({ agentId, report }) => ({ agentId, ...report, at: report.at.getTime() })),
        );
        const byAgent = new Map(
          (await update.execute({ rows: json })).map((row) => [row.agentId, row]),
        );
        for (const { agentId } of pending) rows.push(byAgent.get(agentId));
        pending = [];
        named.clear();
      };
      for (const entry of entries) {
        if (named.has(entry.agentId) || pending.length >= REPORT_CHUNK) await write();
        pending.push(entry);
        named.add(entry.agentId);
      }
      await write();
      return rows;
    });

  return {
    reportMany,

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
