import { and, asc, count, eq, type SQL, sql } from "drizzle-orm";
import { DroverError, invalidField } from "../errors/index.ts";
import type { StoreDb } from "./db.ts";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { virtualHosts, workspaces } from "./schema.ts";
import type { VirtualHostPatch, VirtualHostRepository, WorkspaceScopeFilter } from "./types.ts";
import {
  alreadyExists,
  checkLimit,
  checkOffset,
  checkText,
  notFound,
  plain,
  returned,
} from "./validate.ts";

const NAME_KEY = "virtual_hosts.workspace_id, virtual_hosts.name";

function nameTaken(workspaceId: string | undefined, name: string): DroverError {
  const where = workspaceId === undefined ? "its workspace" : `workspace ${workspaceId}`;
  return new DroverError(
    "already_exists",
    `virtual host named "${name}" already exists in ${where}`,
  );
}

function filterSql({ workspaceId }: WorkspaceScopeFilter): SQL | undefined {
  return and(workspaceId === undefined ? undefined : eq(virtualHosts.workspaceId, workspaceId));
}

/** Virtual hosts with a location whose upstreamId is this one. */
export function usesUpstream(upstreamId: string): SQL {
  return sql`EXISTS (SELECT 1 FROM json_each(${virtualHosts.locations}) AS location
    WHERE json_extract(location.value, '$.upstreamId') = ${upstreamId})`;
}

function checkPatch(patch: VirtualHostPatch): void {
  if (patch.name !== undefined) checkText("name", patch.name);
  if (patch.serverName !== undefined) checkText("serverName", patch.serverName);
  if (patch.listenPort !== undefined && !Number.isInteger(patch.listenPort)) {
    throw invalidField("listenPort", "must be an integer");
  }
  if (patch.locations !== undefined && !Array.isArray(patch.locations)) {
    throw invalidField("locations", "must be an array");
  }
  const target = patch.targetAgents;
  if (target !== undefined && (target === null || typeof target !== "object")) {
    throw invalidField("targetAgents", "must be an object");
  }
}

/** The foreign key that failed: the workspace, or else the certificate. */
async function missingReference(
  db: StoreDb,
  workspaceId: string,
  certificateId: string | null | undefined,
): Promise<DroverError> {
  const [workspace] = await db
    .select({ id: workspaces.id })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  return workspace === undefined
    ? notFound("workspace", workspaceId)
    : notFound("certificate", String(certificateId));
}

export function createVirtualHostRepository(run: Runner): VirtualHostRepository {
  const listWhere = (where: SQL) =>
    run((db) =>
      db
        .select()
        .from(virtualHosts)
        .where(where)
        .orderBy(asc(virtualHosts.createdAt), asc(virtualHosts.id)),
    );
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
          serverName: row.serverName,
          listenPort: row.listenPort,
          sslEnabled: row.sslEnabled,
          sslCertificateId: row.sslCertificateId,
          http2Enabled: row.http2Enabled,
          http3Enabled: row.http3Enabled,
          locations: plain(row.locations),
          targetAgents: plain(row.targetAgents),
          createdAt: row.createdAt,
          updatedAt: row.updatedAt,
        };
        try {
          return returned(await db.insert(virtualHosts).values(values).returning());
        } catch (error) {
          if (isUniqueViolation(error, NAME_KEY)) throw nameTaken(row.workspaceId, row.name);
          if (isUniqueViolation(error)) throw alreadyExists("virtual host", row.id);
          if (isForeignKeyViolation(error)) {
            throw await missingReference(db, row.workspaceId, row.sslCertificateId);
          }
          throw error;
        }
      }),

    get: (id) =>
      run(async (db) => {
        const [row] = await db.select().from(virtualHosts).where(eq(virtualHosts.id, id));
        return row ?? null;
      }),

    list: ({ limit, offset, ...filter }) =>
      run(async (db) => {
        checkLimit(limit);
        checkOffset(offset);
        return db
          .select()
          .from(virtualHosts)
          .where(filterSql(filter))
          .orderBy(asc(virtualHosts.createdAt), asc(virtualHosts.id))
          .limit(limit)
          .offset(offset);
      }),

    count: (filter = {}) =>
      run(async (db) => {
        const [row] = await db.select({ n: count() }).from(virtualHosts).where(filterSql(filter));
        return row?.n ?? 0;
      }),

    update: (id, patch, at) =>
      run(async (db) => {
        checkPatch(patch);
        // Copy only the patchable fields: moving a virtual host between workspaces is not one.
        const {
          name,
          serverName,
          listenPort,
          sslEnabled,
          sslCertificateId,
          http2Enabled,
          http3Enabled,
          locations,
          targetAgents,
        } = patch;
        try {
          const [row] = await db
            .update(virtualHosts)
            .set({
              name,
              serverName,
              listenPort,
              sslEnabled,
              sslCertificateId,
              http2Enabled,
              http3Enabled,
              locations: plain(locations),
              targetAgents: plain(targetAgents),
              updatedAt: at,
            })
            .where(eq(virtualHosts.id, id))
            .returning();
          if (row === undefined) throw notFound("virtual host", id);
          return row;
        } catch (error) {
          if (name !== undefined && isUniqueViolation(error, NAME_KEY)) {
            const [current] = await db
              .select({ workspaceId: virtualHosts.workspaceId })
              .from(virtualHosts)
              .where(eq(virtualHosts.id, id));
            throw nameTaken(current?.workspaceId, name);
          }
          // The only foreign key a patch can break.
          if (isForeignKeyViolation(error)) throw notFound("certificate", String(sslCertificateId));
          throw error;
        }
      }),

    delete: (id) =>
      run(async (db) => {
        const rows = await db
          .delete(virtualHosts)
          .where(eq(virtualHosts.id, id))
          .returning({ id: virtualHosts.id });
        return rows.length > 0;
      }),

    listUsingUpstream: (upstreamId) => listWhere(usesUpstream(upstreamId)),

    listUsingCertificate: (certificateId) =>
      listWhere(eq(virtualHosts.sslCertificateId, certificateId)),
  };
}
