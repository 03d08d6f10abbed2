import type { Principal } from "../auth/index.ts";
import { DroverError, invalidField } from "../errors/index.ts";
import type { PublishInput } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import type {
  HealthCheckSpec,
  UpstreamAlgorithm,
  UpstreamRow,
  UpstreamServer,
  WorkspaceRow,
} from "../store/index.ts";
import {
  definedFields,
  scopeData,
  workspaceChanged,
  workspaceForConfig,
  workspaceOfObject,
} from "./config-scope.ts";
import {
  checkHashKey,
  checkHealthCheck,
  checkInt,
  checkServer,
  checkWellFormed,
  configLimits,
} from "./config-validate.ts";
import { offsetOf, type PageOf, type PageRequest, type TenancyDeps } from "./deps.ts";
import { checkDisplayName } from "./validate.ts";

export interface UpstreamInput {
  name: string;
  algorithm: UpstreamAlgorithm;
  /** Required with algorithm "hash", refused otherwise. */
  hashKey: string | null;
  servers: UpstreamServer[];
  /** Idle keepalive connections per worker; 0 or null: none. */
  keepalive: number | null;
  healthCheck: HealthCheckSpec | null;
}

const algorithms: readonly UpstreamAlgorithm[] = [
  "round_robin",
  "least_connections",
  "ip_hash",
  "hash",
];

/** The whole upstream, as it will be stored. */
function checkUpstream(input: UpstreamInput): void {
  checkWellFormed("name", input.name);
  checkDisplayName("name", input.name);
  if (!algorithms.includes(input.algorithm)) {
    throw invalidField("algorithm", `must be one of ${algorithms.join(", ")}`);
  }
  if (input.algorithm === "hash") {
    if (input.hashKey === null) throw invalidField("hash_key", "is required with algorithm hash");
    checkHashKey("hash_key", input.hashKey);
  } else if (input.hashKey !== null) {
    throw invalidField("hash_key", "is only used with algorithm hash");
  }
  if (!Array.isArray(input.servers) || input.servers.length === 0) {
    throw invalidField("servers", "must list at least one server");
  }
  if (input.servers.length > configLimits.servers) {
    throw invalidField("servers", `must have at most ${configLimits.servers} items`);
  }
  input.servers.forEach((server, i) => {
    checkServer(`servers.${i}`, server);
    // nginx: "the backup parameter cannot be used along with the hash and ip_hash".
    if (server.backup && (input.algorithm === "ip_hash" || input.algorithm === "hash")) {
      throw invalidField(`servers.${i}.backup`, `is not allowed with algorithm ${input.algorithm}`);
    }
  });
  // nginx refuses an upstream whose every server is a backup.
  if (input.servers.every((server) => server.backup)) {
    throw invalidField("servers", "needs at least one server that is not a backup");
  }
  if (input.keepalive !== null) checkInt("keepalive", input.keepalive, configLimits.keepalive);
  if (input.healthCheck !== null) checkHealthCheck("health_check", input.healthCheck);
}

function upstreamEvent(
  type: "upstream.created" | "upstream.updated" | "upstream.deleted",
  upstream: UpstreamRow,
  workspace: WorkspaceRow,
): PublishInput {
  return {
    type,
    subjectId: upstream.id,
    data: { upstream_id: upstream.id, name: upstream.name, ...scopeData(workspace) },
    changes: workspaceChanged(workspace),
  };
}

export async function listUpstreams(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  page: PageRequest,
): Promise<PageOf<UpstreamRow>> {
  await workspaceForConfig(deps, principal, workspaceId, false);
  const [items, total] = await Promise.all([
    deps.store.upstreams.list({ workspaceId, ...offsetOf(page) }),
    deps.store.upstreams.count({ workspaceId }),
  ]);
  return { items, total };
}

export async function createUpstream(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  input: UpstreamInput,
): Promise<UpstreamRow> {
  const workspace = await workspaceForConfig(deps, principal, workspaceId, true);
  checkUpstream(input);
  const now = deps.clock.now();
  return deps.events.commit(async (tx) => {
    const upstream = await tx.upstreams.insert({
      id: newId("up"),
      workspaceId,
      name: input.name,
      algorithm: input.algorithm,
      hashKey: input.hashKey,
      servers: input.servers,
      keepalive: input.keepalive,
      healthCheck: input.healthCheck,
      createdAt: now,
      updatedAt: now,
    });
    await tx.emit(upstreamEvent("upstream.created", upstream, workspace));
    return upstream;
  });
}

async function upstreamFor(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
  write: boolean,
): Promise<{ upstream: UpstreamRow; workspace: WorkspaceRow }> {
  const what = `upstream ${id}`;
  const upstream = await deps.store.upstreams.get(id);
  if (!upstream) throw new DroverError("not_found", `${what} not found`);
  const workspace = await workspaceOfObject(deps, principal, upstream.workspaceId, what, write);
  return { upstream, workspace };
}

export async function getUpstream(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<UpstreamRow> {
  return (await upstreamFor(deps, principal, id, false)).upstream;
}

/** The patch applied to the upstream, which is then checked whole. */
export async function updateUpstream(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
  patch: Partial<UpstreamInput>,
): Promise<UpstreamRow> {
  const { upstream: current, workspace } = await upstreamFor(deps, principal, id, true);
  const defined = definedFields(patch);
  const merged: UpstreamInput = { ...current, ...defined };
  // Switching away from "hash" drops its key unless the patch sets one.
  if (defined.algorithm !== undefined && defined.algorithm !== "hash" && !("hashKey" in defined)) {
    merged.hashKey = null;
  }
  checkUpstream(merged);
  return deps.events.commit(async (tx) => {
    const upstream = await tx.upstreams.update(
      id,
      {
        name: merged.name,
        algorithm: merged.algorithm,
        hashKey: merged.hashKey,
        servers: merged.servers,
        keepalive: merged.keepalive,
        healthCheck: merged.healthCheck,
      },
      deps.clock.now(),
    );
    await tx.emit(upstreamEvent("upstream.updated", upstream, workspace));
    return upstream;
  });
}

/** failed_precondition (409), naming it, while a virtual host's location proxies to it. */
export async function deleteUpstream(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<void> {
  const { upstream, workspace } = await upstreamFor(deps, principal, id, true);
  await deps.events.commit(async (tx) => {
    if (!(await tx.upstreams.delete(id))) {
      throw new DroverError("not_found", `upstream ${id} not found`);
    }
    await tx.emit(upstreamEvent("upstream.deleted", upstream, workspace));
  });
}
