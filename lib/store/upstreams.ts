import { invalidField } from "../errors/index.ts";
import { deleteById } from "./by-id.ts";
import { inWorkspace } from "./filters.ts";
import { namedInWorkspace } from "./named.ts";
import { pagedReads } from "./paged.ts";
import type { Runner } from "./runner.ts";
import { upstreams } from "./schema.ts";
import { inUse } from "./tls-certificates.ts";
import { atomically } from "./transaction.ts";
import type { UpstreamPatch, UpstreamRepository } from "./types.ts";
import { checkText, notFound, plain } from "./validate.ts";
import { firstVirtualHostWhere, usesUpstream } from "./virtual-hosts.ts";

const algorithms = new Set(["round_robin", "least_connections", "ip_hash", "hash"]);

function checkPatch(patch: UpstreamPatch): void {
  if (patch.name !== undefined) checkText("name", patch.name);
  if (patch.algorithm !== undefined && !algorithms.has(patch.algorithm)) {
    throw invalidField("algorithm", "unknown algorithm");
  }
  if (patch.servers !== undefined && !Array.isArray(patch.servers)) {
    throw invalidField("servers", "must be an array");
  }
}

const named = namedInWorkspace({
  table: upstreams,
  what: "upstream",
  nameKey: "upstreams.workspace_id, upstreams.name",
  check: checkPatch,
  columns: (patch: UpstreamPatch) => ({
    name: patch.name,
    algorithm: patch.algorithm,
    hashKey: patch.hashKey,
    servers: plain(patch.servers),
    keepalive: patch.keepalive,
    healthCheck: plain(patch.healthCheck),
  }),
});

export function createUpstreamRepository(run: Runner): UpstreamRepository {
  return {
    ...pagedReads(run, upstreams, inWorkspace(upstreams.workspaceId)),

    insert: (row) =>
      run((db) => named.insert(db, row, () => notFound("workspace", row.workspaceId))),

    update: (id, patch, at) => run((db) => named.update(db, id, patch, at)),

    delete: (id) =>
      run((db) =>
        // Delete first (the write takes the lock), then refuse, rolling it back,
        // if a location still proxies to it: the reference is inside JSON.
        atomically(db, async () => {
          if (!(await deleteById(db, upstreams, id))) return false;
          const user = await firstVirtualHostWhere(db, usesUpstream(id));
          if (user !== undefined) throw inUse("upstream", id, user);
          return true;
        }),
      ),
  };
}
