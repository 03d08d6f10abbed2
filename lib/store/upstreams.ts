import { and, asc, count, eq, type SQL } from "drizzle-orm";
import { DroverError, invalidField } from "../errors/index.ts";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { upstreams, virtualHosts } from "./schema.ts";
import { inUse } from "./tls-certificates.ts";
import { atomically } from "./transaction.ts";
import type { UpstreamPatch, UpstreamRepository, WorkspaceScopeFilter } from "./types.ts";
import {
  alreadyExists,
  checkLimit,
  checkOffset,
  checkText,
  notFound,
  plain,
  returned,
} from "./validate.ts";
import { usesUpstream } from "./virtual-hosts.ts";

const NAME_KEY = "upstreams.workspace_id, upstreams.name";
const algorithms = new Set(["round_robin", "least_connections", "ip_hash", "hash"]);

function nameTaken(workspaceId: string | undefined, name: string): DroverError {
  const where = workspaceId === undefined ? "its workspace" : `workspace ${workspaceId}`;
  return new DroverError("already_exists", `upstream named "${name}" already exists in ${where}`);
}

function filterSql({ workspaceId }: WorkspaceScopeFilter): SQL | undefined {
  return and(workspaceId === undefined ? undefined : eq(upstreams.workspaceId, workspaceId));
}

function checkPatch(patch: UpstreamPatch): void {
  if (patch.name !== undefined) checkText("name", patch.name);
  if (patch.algorithm !== undefined && !algorithms.has(patch.algorithm)) {
    throw invalidField("algorithm", "unknown algorithm");
  }
  if (patch.servers !== undefined && !Array.isArray(patch.servers)) {
    throw invalidField("servers", "must be an array");
  }
}

export function createUpstreamRepository(run: Runner): UpstreamRepository {
  return {
    insert: (row) =>
      run(async (db) => {
        checkText("id", row.id);
        checkText("workspaceId", row.workspaceId);
        checkPatch(row);
        const values = {
          id: row.id,
          workspaceId: row.workspaceId,
          name: row.name,
          algorithm: row.algorithm,
          hashKey: row.hashKey,
          servers: plain(row.servers),
          keepalive: row.keepalive,
          healthCheck: plain(row.healthCheck),
          createdAt: row.createdAt,
          updatedAt: row.updatedAt,
        };
        try {
          return returned(await db.insert(upstreams).values(values).returning());
        } catch (error) {
          if (isUniqueViolation(error, NAME_KEY)) throw nameTaken(row.workspaceId, row.name);
          if (isUniqueViolation(error)) throw alreadyExists("upstream", row.id);
          if (isForeignKeyViolation(error)) throw notFound("workspace", row.workspaceId);
          throw error;
        }
      }),

    get: (id) =>
      run(async (db) => {
        const [row] = await db.select().from(upstreams).where(eq(upstreams.id, id));
        return row ?? null;
      }),

    list: ({ limit, offset, ...filter }) =>
      run(async (db) => {
        checkLimit(limit);
        checkOffset(offset);
        return db
          .select()
          .from(upstreams)
          .where(filterSql(filter))
          .orderBy(asc(upstreams.createdAt), asc(upstreams.id))
          .limit(limit)
          .offset(offset);
      }),

    count: (filter = {}) =>
      run(async (db) => {
        const [row] = await db.select({ n: count() }).from(upstreams).where(filterSql(filter));
        return row?.n ?? 0;
      }),

    update: (id, patch, at) =>
      run(async (db) => {
        checkPatch(patch);
        // Copy only the patchable fields: moving an upstream between workspaces is not one.
        const { name, algorithm, hashKey, servers, keepalive, healthCheck } = patch;
        try {
          const [row] = await db
            .update(upstreams)
            .set({
              name,
              algorithm,
              hashKey,
              servers: plain(servers),
              keepalive,
              healthCheck: plain(healthCheck),
              updatedAt: at,
            })
            .where(eq(upstreams.id, id))
            .returning();
          if (row === undefined) throw notFound("upstream", id);
          return row;
        } catch (error) {
          if (name !== undefined && isUniqueViolation(error, NAME_KEY)) {
            const [current] = await db
              .select({ workspaceId: upstreams.workspaceId })
              .from(upstreams)
              .where(eq(upstreams.id, id));
            throw nameTaken(current?.workspaceId, name);
          }
          throw error;
        }
      }),

    delete: (id) =>
      run((db) =>
        // Delete first (the write takes the lock), then refuse, rolling it back,
        // if a location still proxies to it: the reference is inside JSON.
        atomically(db, async () => {
          const rows = await db
            .delete(upstreams)
            .where(eq(upstreams.id, id))
            .returning({ id: upstreams.id });
          if (rows.length === 0) return false;
          const [user] = await db
            .select({ id: virtualHosts.id, name: virtualHosts.name })
            .from(virtualHosts)
            .where(usesUpstream(id))
            .orderBy(asc(virtualHosts.createdAt), asc(virtualHosts.id))
            .limit(1);
          if (user !== undefined) throw inUse("upstream", id, user);
          return true;
        }),
      ),
  };
}
