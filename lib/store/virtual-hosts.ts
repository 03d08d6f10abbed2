import { eq, type SQL, sql } from "drizzle-orm";
import { type DroverError, invalidField } from "../errors/index.ts";
import { deleteById, rowById } from "./by-id.ts";
import type { StoreDb } from "./db.ts";
import { inWorkspace } from "./filters.ts";
import { namedInWorkspace } from "./named.ts";
import { creationOrder, pagedReads } from "./paged.ts";
import type { Runner } from "./runner.ts";
import { virtualHosts, workspaces } from "./schema.ts";
import type { VirtualHostPatch, VirtualHostRepository } from "./types.ts";
import { checkText, notFound, plain } from "./validate.ts";

/** Virtual hosts with a location whose upstreamId is this one. */
export function usesUpstream(upstreamId: string): SQL {
  return sql`EXISTS (SELECT 1 FROM json_each(${virtualHosts.locations}) AS location
    WHERE json_extract(location.value, '$.upstreamId') = ${upstreamId})`;
}

/** The oldest virtual host matching where: the one an in-use refusal names. */
export async function firstVirtualHostWhere(
  db: StoreDb,
  where: SQL,
): Promise<{ id: string; name: string } | undefined> {
  const [host] = await db
    .select({ id: virtualHosts.id, name: virtualHosts.name })
    .from(virtualHosts)
    .where(where)
    .orderBy(...creationOrder(virtualHosts))
    .limit(1);
  return host;
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

const named = namedInWorkspace({
  table: virtualHosts,
  what: "virtual host",
  nameKey: "virtual_hosts.workspace_id, virtual_hosts.name",
  check: checkPatch,
  columns: (patch: VirtualHostPatch) => ({
    name: patch.name,
    serverName: patch.serverName,
    listenPort: patch.listenPort,
    sslEnabled: patch.sslEnabled,
    sslCertificateId: patch.sslCertificateId,
    http2Enabled: patch.http2Enabled,
    http3Enabled: patch.http3Enabled,
    customDirectives: plain(patch.customDirectives),
    locations: plain(patch.locations),
    targetAgents: plain(patch.targetAgents),
  }),
});

/** The foreign key that failed: the workspace, or else the certificate. */
async function missingReference(
  db: StoreDb,
  workspaceId: string,
  certificateId: string | null | undefined,
): Promise<DroverError> {
  return (await rowById(db, workspaces, workspaceId)) === null
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
        .orderBy(...creationOrder(virtualHosts)),
    );
  return {
    ...pagedReads(run, virtualHosts, inWorkspace(virtualHosts.workspaceId)),

    insert: (row) =>
      run((db) =>
        named.insert(db, row, () => missingReference(db, row.workspaceId, row.sslCertificateId)),
      ),

    update: (id, patch, at) =>
      run((db) =>
        // The only foreign key a patch can break.
        named.update(db, id, patch, at, () =>
          notFound("certificate", String(patch.sslCertificateId)),
        ),
      ),

    delete: (id) => run((db) => deleteById(db, virtualHosts, id)),

    listUsingUpstream: (upstreamId) => listWhere(usesUpstream(upstreamId)),

    listUsingCertificate: (certificateId) =>
      listWhere(eq(virtualHosts.sslCertificateId, certificateId)),
  };
}
