import { and, asc, count, eq, gt, isNull, lt, ne, or } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { validateLabels } from "../selector/index.ts";
import { agentFilterSql } from "./agent-filter.ts";
import type { StoreDb } from "./db.ts";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { type AgentState, agents } from "./schema.ts";
import type { AgentPatch, AgentRepository, AgentRow } from "./types.ts";
import { alreadyExists, checkLimit, checkOffset, notFound, plain, returned } from "./validate.ts";

function checkCapabilities(capabilities: unknown): void {
  if (!Array.isArray(capabilities) || !capabilities.every((c) => typeof c === "string")) {
    throw invalidField("capabilities", "must be an array of strings");
  }
}

/** UPDATE … RETURNING one agent, or not_found. */
async function updateOne(
  db: StoreDb,
  id: string,
  values: Partial<typeof agents.$inferInsert>,
): Promise<AgentRow> {
  try {
    const [row] = await db.update(agents).set(values).where(eq(agents.id, id)).returning();
    if (row === undefined) throw notFound("agent", id);
    return row;
  } catch (error) {
    // The only foreign key: values.workspaceId names no workspace.
    if (isForeignKeyViolation(error)) throw notFound("workspace", String(values.workspaceId));
    throw error;
  }
}

export function createAgentRepository(run: Runner): AgentRepository {
  return {
    insert: (row) =>
      run(async (db) => {
        validateLabels(row.labels);
        checkCapabilities(row.capabilities);
        try {
          return returned(
            await db
              .insert(agents)
              .values({
                ...row,
                labels: plain(row.labels),
                lastSeenAt: row.lastSeenAt ?? null,
                lastHealth: plain(row.lastHealth ?? null),
                workspaceId: row.workspaceId ?? null,
              })
              .returning(),
          );
        } catch (error) {
          if (isUniqueViolation(error)) throw alreadyExists("agent", row.id);
          if (isForeignKeyViolation(error)) throw notFound("workspace", String(row.workspaceId));
          throw error;
        }
      }),

    get: (id) =>
      run(async (db) => {
        const [row] = await db.select().from(agents).where(eq(agents.id, id));
        return row ?? null;
      }),

    list: ({ limit, afterId, offset, ...filter }) =>
      run(async (db) => {
        checkLimit(limit);
        if (offset !== undefined) checkOffset(offset);
        const query = db
          .select()
          .from(agents)
          .where(
            and(agentFilterSql(filter), afterId === undefined ? undefined : gt(agents.id, afterId)),
          )
          .orderBy(asc(agents.id))
          .limit(limit);
        return offset === undefined ? query : query.offset(offset);
      }),

    count: (filter = {}) =>
      run(async (db) => {
        const [row] = await db.select({ n: count() }).from(agents).where(agentFilterSql(filter));
        return row?.n ?? 0;
      }),

    update: (id, patch: AgentPatch, at) =>
      run(async (db) => {
        if (patch.labels !== undefined) validateLabels(patch.labels);
        if (patch.capabilities !== undefined) checkCapabilities(patch.capabilities);
        // Copy only the patchable fields: the static type is not a runtime guarantee.
        const { name, hostname, ip, version, labels, capabilities, workspaceId } = patch;
        return updateOne(db, id, {
          name,
          hostname,
          ip,
          version,
          labels: plain(labels),
          capabilities,
          workspaceId,
          updatedAt: at,
        });
      }),

    updateHealth: (id, { lastSeenAt, lastHealth, state }) =>
      run((db) =>
        updateOne(db, id, {
          lastSeenAt,
          lastHealth: plain(lastHealth),
          state,
          updatedAt: lastSeenAt,
        }),
      ),

    setState: (id, state: AgentState, at) =>
      run((db) => updateOne(db, id, { state, updatedAt: at })),

    markOnline: (id, at) =>
      run((db) => updateOne(db, id, { state: "online", lastSeenAt: at, updatedAt: at })),

    markStaleOffline: (olderThan, at) =>
      run(async (db) => {
        const rows = await db
          .update(agents)
          .set({ state: "offline", updatedAt: at })
          .where(
            and(
              ne(agents.state, "offline"),
              or(
                lt(agents.lastSeenAt, olderThan),
                and(isNull(agents.lastSeenAt), lt(agents.createdAt, olderThan)),
              ),
            ),
          )
          .returning({ id: agents.id });
        return rows.map((r) => r.id).sort();
      }),

    delete: (id) =>
      run(async (db) => {
        const rows = await db.delete(agents).where(eq(agents.id, id)).returning({ id: agents.id });
        return rows.length > 0;
      }),
  };
}
