import { and, asc, count, eq, gt, isNull, lt, ne, or, sql } from "drizzle-orm";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import { invalidField } from "../errors/index.ts";
import { validateLabels } from "../selector/index.ts";
import { agentFilterSql, chooseDriver } from "./agent-filter.ts";
import { writeHeartbeats } from "./agent-heartbeats.ts";
import { deleteById, rowById, updateById } from "./by-id.ts";
import type { StoreDb } from "./db.ts";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.ts";
import { bound, prepared } from "./prepared.ts";
import type { Runner } from "./runner.ts";
import { type AgentState, agentLabels, agents, deploymentModes } from "./schema.ts";
import { atomically } from "./transaction.ts";
import type { AgentPatch, AgentRepository, AgentRow } from "./types.ts";
import { alreadyExists, checkLimit, checkOffset, notFound, plain, returned } from "./validate.ts";

function checkCapabilities(capabilities: unknown): void {
  if (!Array.isArray(capabilities) || !capabilities.every((c) => typeof c === "string")) {
    throw invalidField("capabilities", "must be an array of strings");
  }
}

/**
 * Replaces the agent's rows in agent_labels with `labels`. The caller runs it
 * in the same atomic step as the write of agents.labels, so the two never
 * disagree. One statement whatever the number of labels: they travel as one
 * JSON parameter (validated keys and values are ASCII, so SQLite reads back
 * exactly the strings matchesSelector compares).
 */
async function writeLabels(
  db: StoreDb,
  agentId: string,
  labels: Record<string, string>,
  replace: boolean,
): Promise<void> {
  if (replace) await db.delete(agentLabels).where(eq(agentLabels.agentId, agentId));
  await db
    .insert(agentLabels)
    .select(
      sql`SELECT ${agentId}, je.key, je.value FROM json_each(${JSON.stringify(labels)}) AS je`,
    );
}

/** UPDATE … RETURNING one agent, or not_found. */
// Every connection and disconnection sets a state (thousands at once in a
// reconnect storm): these updates are prepared once, not built per call.
const stateKey = {};
const onlineKey = {};

/** UPDATE agents SET `set` WHERE id = :id RETURNING *, prepared once per `key`. */
async function updatePrepared(
  db: StoreDb,
  key: object,
  set: () => SQLiteUpdateSetSource<typeof agents>,
  values: { id: string } & Record<string, unknown>,
): Promise<AgentRow> {
  const update = prepared(db, key, () =>
    db
      .update(agents)
      .set(set())
      .where(eq(agents.id, sql.placeholder("id")))
      .returning()
      .prepare(),
  );
  const [row] = await update.execute(values);
  if (row === undefined) throw notFound("agent", values.id);
  return row;
}

const setStatePrepared = (db: StoreDb, id: string, state: AgentState, at: Date) =>
  updatePrepared(
    db,
    stateKey,
    () => ({ state: bound("state", agents.state), updatedAt: bound("at", agents.updatedAt) }),
    { id, state, at },
  );

const markOnlinePrepared = (db: StoreDb, id: string, at: Date) =>
  updatePrepared(
    db,
    onlineKey,
    () => ({
      state: "online",
      lastSeenAt: bound("at", agents.lastSeenAt),
      updatedAt: bound("at", agents.updatedAt),
    }),
    { id, at },
  );

async function updateOne(
  db: StoreDb,
  id: string,
  values: Partial<typeof agents.$inferInsert>,
): Promise<AgentRow> {
  try {
    return await updateById(db, agents, id, values, "agent");
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
        validateLabels(row.claimedLabels ?? {}, "claimedLabels");
        checkCapabilities(row.capabilities);
        if (row.deploymentMode !== undefined && !deploymentModes.includes(row.deploymentMode))
          throw invalidField("deploymentMode", `must be one of ${deploymentModes.join(", ")}`);
        try {
          // The agent first: atomically wants a write before any read.
          return await atomically(db, async () => {
            const inserted = returned(
              await db
                .insert(agents)
                .values({
                  ...row,
                  labels: plain(row.labels),
                  claimedLabels: plain(row.claimedLabels ?? {}),
                  lastSeenAt: row.lastSeenAt ?? null,
                  lastHealth: plain(row.lastHealth ?? null),
                  workspaceId: row.workspaceId ?? null,
                })
                .returning(),
            );
            await writeLabels(db, inserted.id, inserted.labels, false);
            return inserted;
          });
        } catch (error) {
          if (isUniqueViolation(error)) throw alreadyExists("agent", row.id);
          if (isForeignKeyViolation(error)) throw notFound("workspace", String(row.workspaceId));
          throw error;
        }
      }),

    get: (id) => run((db) => rowById(db, agents, id)),

    list: ({ limit, afterId, offset, ...filter }) =>
      run(async (db) => {
        checkLimit(limit);
        if (offset !== undefined) checkOffset(offset);
        const where = agentFilterSql(filter, await chooseDriver(db, filter));
        const query = db
          .select()
          .from(agents)
          .where(and(where, afterId === undefined ? undefined : gt(agents.id, afterId)))
          .orderBy(asc(agents.id))
          .limit(limit);
        return offset === undefined ? query : query.offset(offset);
      }),

    count: (filter = {}) =>
      run(async (db) => {
        const where = agentFilterSql(filter, await chooseDriver(db, filter));
        const [row] = await db.select({ n: count() }).from(agents).where(where);
        return row?.n ?? 0;
      }),

    update: (id, patch: AgentPatch, at) =>
      run(async (db) => {
        if (patch.labels !== undefined) validateLabels(patch.labels);
        if (patch.capabilities !== undefined) checkCapabilities(patch.capabilities);
        if (patch.deploymentMode !== undefined && !deploymentModes.includes(patch.deploymentMode))
          throw invalidField("deploymentMode", `must be one of ${deploymentModes.join(", ")}`);
        // Copy only the patchable fields: the static type is not a runtime guarantee.
        const { name, hostname, ip, version, labels, capabilities, workspaceId, deploymentMode } =
          patch;
        const write = () =>
          updateOne(db, id, {
            name,
            hostname,
            ip,
            version,
            labels: plain(labels),
            capabilities,
            workspaceId,
            deploymentMode,
            updatedAt: at,
          });
        if (labels === undefined) return write();
        return atomically(db, async () => {
          const updated = await write();
          await writeLabels(db, id, updated.labels, true);
          return updated;
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

    writeHeartbeats: (rows) => run((db) => writeHeartbeats(db, rows)),

    setState: (id, state: AgentState, at) => run((db) => setStatePrepared(db, id, state, at)),

    markOnline: (id, at) => run((db) => markOnlinePrepared(db, id, at)),

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

    delete: (id) => run((db) => deleteById(db, agents, id)),
  };
}
