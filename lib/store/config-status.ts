import { eq, inArray } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { isForeignKeyViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { agentConfigStatus } from "./schema.ts";
import type { ConfigApplyState, ConfigReport, ConfigStatusRepository } from "./types.ts";
import { checkDate, checkText, notFound, returned } from "./validate.ts";

const states: readonly ConfigApplyState[] = [
  "pending",
  "validating",
  "applying",
  "success",
  "failed",
  "rolled_back",
];

function checkReport(report: ConfigReport): void {
  checkText("version", report.version);
  if (!states.includes(report.state)) throw invalidField("state", "is not an apply state");
  checkDate("at", report.at);
  if (!Array.isArray(report.errors) || !report.errors.every((e) => typeof e === "string"))
    throw invalidField("errors", "must be a list of strings");
  if (
    report.durationMs !== null &&
    !(Number.isInteger(report.durationMs) && report.durationMs >= 0)
  )
    throw invalidField("durationMs", "must be a non-negative integer or null");
}

export function createConfigStatusRepository(run: Runner): ConfigStatusRepository {
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

    setDesired: (agentId, desired) =>
      run(async (db) => {
        checkText("version", desired.version);
        checkDate("at", desired.at);
        try {
          const [existing] = await db
            .select({ desiredVersion: agentConfigStatus.desiredVersion })
            .from(agentConfigStatus)
            .where(eq(agentConfigStatus.agentId, agentId));
          if (existing?.desiredVersion === desired.version) {
            return returned(
              await db
                .update(agentConfigStatus)
                .set({ hosts: desired.hosts, updatedAt: desired.at })
                .where(eq(agentConfigStatus.agentId, agentId))
                .returning(),
            );
          }
          // A new desired version: pending until the agent reports on it.
          const pending = {
            desiredVersion: desired.version,
            version: desired.version,
            state: "pending" as const,
            errors: [],
            steps: [],
            durationMs: null,
            hosts: desired.hosts,
            updatedAt: desired.at,
          };
          return returned(
            await db
              .insert(agentConfigStatus)
              .values({ agentId, ...pending })
              .onConflictDoUpdate({ target: agentConfigStatus.agentId, set: pending })
              .returning(),
          );
        } catch (error) {
          if (isForeignKeyViolation(error)) throw notFound("agent", agentId);
          throw error;
        }
      }),

    report: (agentId, report) =>
      run(async (db) => {
        checkReport(report);
        const success = report.state === "success";
        const [row] = await db
          .update(agentConfigStatus)
          .set({
            version: report.version,
            state: report.state,
            errors: report.errors,
            steps: report.steps,
            durationMs: report.durationMs,
            updatedAt: report.at,
            ...(success ? { appliedVersion: report.version, appliedAt: report.at } : {}),
          })
          .where(eq(agentConfigStatus.agentId, agentId))
          .returning();
        if (row === undefined) throw notFound("configuration status of agent", agentId);
        return row;
      }),
  };
}
