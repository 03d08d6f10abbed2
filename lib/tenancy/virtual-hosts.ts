import type { Principal } from "../auth/index.ts";
import { DroverError, invalidField } from "../errors/index.ts";
import type { PublishInput } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import { checkDirectives } from "../nginx/index.ts";
import type {
  ConfigApplyState,
  LocationSpec,
  Repositories,
  TargetAgents,
  VirtualHostRow,
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
  checkInt,
  checkLocations,
  checkServerName,
  checkTarget,
  checkWellFormed,
  configLimits,
} from "./config-validate.ts";
import { offsetOf, type PageOf, type PageRequest, type TenancyDeps } from "./deps.ts";
import { checkDisplayName } from "./validate.ts";

export interface VirtualHostInput {
  name: string;
  /** Space-separated DNS names, `*.` wildcards allowed; regular expressions not yet. */
  serverName: string;
  listenPort: number;
  sslEnabled: boolean;
  /** A certificate of the same workspace; required when sslEnabled. */
  sslCertificateId: string | null;
  http2Enabled: boolean;
  /** QUIC is TLS: needs sslEnabled. */
  http3Enabled: boolean;
  /** Server-level directives from the allow-list; null or absent: none. */
  customDirectives?: Record<string, string> | null;
  locations: LocationSpec[];
  targetAgents: TargetAgents;
}

function checkFlag(field: string, value: unknown): void {
  if (typeof value !== "boolean") throw invalidField(field, "must be true or false");
}

/** The virtual host's own rules; references are checked against the store. */
function checkVirtualHost(input: VirtualHostInput): void {
  checkWellFormed("name", input.name);
  checkDisplayName("name", input.name);
  checkServerName("server_name", input.serverName);
  checkInt("listen_port", input.listenPort, configLimits.port);
  checkFlag("ssl_enabled", input.sslEnabled);
  checkFlag("http2_enabled", input.http2Enabled);
  checkFlag("http3_enabled", input.http3Enabled);
  if (input.sslEnabled && input.sslCertificateId === null) {
    throw invalidField("ssl_certificate_id", "is required when ssl_enabled is true");
  }
  if (input.http3Enabled && !input.sslEnabled) {
    throw invalidField("http3_enabled", "needs ssl_enabled: HTTP/3 runs over TLS");
  }
  if (input.customDirectives) checkDirectives("custom_directives", input.customDirectives);
  checkLocations("locations", input.locations);
  checkTarget("target_agents", input.targetAgents);
}

/** Its certificate and upstreams exist in its own workspace. */
async function checkReferences(
  tx: Repositories,
  workspaceId: string,
  input: VirtualHostInput,
): Promise<void> {
  if (input.sslCertificateId !== null) {
    const certificate = await tx.tlsCertificates.get(input.sslCertificateId);
    if (certificate?.workspaceId !== workspaceId) {
      throw invalidField(
        "ssl_certificate_id",
        `no certificate ${input.sslCertificateId} in workspace ${workspaceId}`,
      );
    }
  }
  for (const [i, location] of input.locations.entries()) {
    if (location.upstreamId === undefined) continue;
    const upstream = await tx.upstreams.get(location.upstreamId);
    if (upstream?.workspaceId !== workspaceId) {
      throw invalidField(
        `locations.${i}.upstream_id`,
        `no upstream ${location.upstreamId} in workspace ${workspaceId}`,
      );
    }
  }
}

function virtualHostEvent(
  type: "virtual_host.created" | "virtual_host.updated" | "virtual_host.deleted",
  virtualHost: VirtualHostRow,
  workspace: WorkspaceRow,
): PublishInput {
  return {
    type,
    subjectId: virtualHost.id,
    data: { virtual_host_id: virtualHost.id, name: virtualHost.name, ...scopeData(workspace) },
    changes: workspaceChanged(workspace),
  };
}

export async function listVirtualHosts(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  page: PageRequest,
): Promise<PageOf<VirtualHostRow>> {
  await workspaceForConfig(deps, principal, workspaceId, false);
  const [items, total] = await Promise.all([
    deps.store.virtualHosts.list({ workspaceId, ...offsetOf(page) }),
    deps.store.virtualHosts.count({ workspaceId }),
  ]);
  return { items, total };
}

export async function createVirtualHost(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  input: VirtualHostInput,
): Promise<VirtualHostRow> {
  const workspace = await workspaceForConfig(deps, principal, workspaceId, true);
  checkVirtualHost(input);
  const now = deps.clock.now();
  // One transaction: a referenced upstream cannot be deleted between check and insert.
  return deps.events.commit(async (tx) => {
    await checkReferences(tx, workspaceId, input);
    const virtualHost = await tx.virtualHosts.insert({
      id: newId("vh"),
      workspaceId,
      ...pick(input),
      createdAt: now,
      updatedAt: now,
    });
    await tx.emit(virtualHostEvent("virtual_host.created", virtualHost, workspace));
    return virtualHost;
  });
}

/** Exactly the input's fields, whatever else the object holds. */
function pick(input: VirtualHostInput): VirtualHostInput {
  return {
    name: input.name,
    serverName: input.serverName,
    listenPort: input.listenPort,
    sslEnabled: input.sslEnabled,
    sslCertificateId: input.sslCertificateId,
    http2Enabled: input.http2Enabled,
    http3Enabled: input.http3Enabled,
    customDirectives: input.customDirectives ?? null,
    locations: input.locations,
    targetAgents: input.targetAgents,
  };
}

async function virtualHostFor(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
  write: boolean,
): Promise<{ virtualHost: VirtualHostRow; workspace: WorkspaceRow }> {
  const what = `virtual host ${id}`;
  const virtualHost = await deps.store.virtualHosts.get(id);
  if (!virtualHost) throw new DroverError("not_found", `${what} not found`);
  const workspace = await workspaceOfObject(deps, principal, virtualHost.workspaceId, what, write);
  return { virtualHost, workspace };
}

export async function getVirtualHost(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<VirtualHostRow> {
  return (await virtualHostFor(deps, principal, id, false)).virtualHost;
}

/** What became of a virtual host on one agent it targets. */
export interface VirtualHostAgentStatus {
  agentId: string;
  /** pending: the agent has not had this host in a delivery yet. */
  status: "applied" | "set_aside" | "pending";
  reason?: string;
  field?: string;
  /** The state of the agent's latest delivery. */
  configState: ConfigApplyState;
}

/**
 * The host on every agent of its workspace that has it in its desired
 * state: applied, or set aside with why (its own FAILED, while the agent's
 * other hosts are served).
 */
export async function virtualHostStatus(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<VirtualHostAgentStatus[]> {
  const { virtualHost } = await virtualHostFor(deps, principal, id, false);
  const out: VirtualHostAgentStatus[] = [];
  for (let offset = 0; ; offset += 1000) {
    const agents = await deps.store.agents.list({
      workspaceId: virtualHost.workspaceId,
      limit: 1000,
      offset,
    });
    const rows = await deps.store.configStatus.getMany(agents.map((agent) => agent.id));
    for (const row of rows.sort((a, b) => (a.agentId < b.agentId ? -1 : 1))) {
      const outcome = row.hosts.find((host) => host.id === id);
      if (!outcome) continue;
      const delivered = row.state === "success" && row.appliedVersion === row.desiredVersion;
      out.push({
        agentId: row.agentId,
        status: outcome.status === "set_aside" ? "set_aside" : delivered ? "applied" : "pending",
        ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        ...(outcome.field === undefined ? {} : { field: outcome.field }),
        configState: row.state,
      });
    }
    if (agents.length < 1000) return out;
  }
}

/** The patch applied to the virtual host, which is then checked whole; locations are replaced. */
export async function updateVirtualHost(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
  patch: Partial<VirtualHostInput>,
): Promise<VirtualHostRow> {
  const { virtualHost: current, workspace } = await virtualHostFor(deps, principal, id, true);
  const defined = definedFields(patch);
  const merged = pick({ ...current, ...defined });
  checkVirtualHost(merged);
  return deps.events.commit(async (tx) => {
    await checkReferences(tx, current.workspaceId, merged);
    const virtualHost = await tx.virtualHosts.update(id, merged, deps.clock.now());
    await tx.emit(virtualHostEvent("virtual_host.updated", virtualHost, workspace));
    return virtualHost;
  });
}

export async function deleteVirtualHost(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<void> {
  const { virtualHost, workspace } = await virtualHostFor(deps, principal, id, true);
  await deps.events.commit(async (tx) => {
    if (!(await tx.virtualHosts.delete(id))) {
      throw new DroverError("not_found", `virtual host ${id} not found`);
    }
    await tx.emit(virtualHostEvent("virtual_host.deleted", virtualHost, workspace));
  });
}
