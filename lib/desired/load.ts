import { DroverError } from "../errors/index.ts";
import type {
  AgentFileRow,
  GlobalSettings,
  PagedReads,
  Repositories,
  TlsCertificateRow,
  UpstreamRow,
  VirtualHostRow,
  WorkspaceScopeFilter,
} from "../store/index.ts";
import { desiredStateForAgent } from "./state.ts";
import type { DesiredState, DesiredStateOptions } from "./types.ts";

/** Rows per read; a workspace under this many rows per table costs one query per table. */
const pageSize = 1000;

/** Every row of one workspace, in creation order. */
async function allInWorkspace<Row>(
  reads: PagedReads<Row, WorkspaceScopeFilter>,
  workspaceId: string,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (;;) {
    const page = await reads.list({ workspaceId, limit: pageSize, offset: rows.length });
    rows.push(...page);
    if (page.length < pageSize) return rows;
  }
}

/** The rows of one workspace an agent's desired state derives from. */
export interface WorkspaceConfig {
  virtualHosts: VirtualHostRow[];
  upstreams: UpstreamRow[];
  certificates: TlsCertificateRow[];
  /** Files, secrets and env templates. */
  files: AgentFileRow[];
  /** The workspace's nginx_directives and env_vars; absent: none. */
  globalSettings?: GlobalSettings;
}

type ConfigReads = Pick<
  Repositories,
  "workspaces" | "virtualHosts" | "upstreams" | "tlsCertificates" | "agentFiles"
>;

/** Reads a workspace's settings, virtual hosts, upstreams, certificates and files (one query per table under 1000 rows each). */
export async function loadWorkspaceConfig(
  store: ConfigReads,
  workspaceId: string | null,
): Promise<WorkspaceConfig> {
  if (workspaceId === null) {
    return { virtualHosts: [], upstreams: [], certificates: [], files: [] };
  }
  const [workspace, virtualHosts, upstreams, certificates, files] = await Promise.all([
    store.workspaces.get(workspaceId),
    allInWorkspace(store.virtualHosts, workspaceId),
    allInWorkspace(store.upstreams, workspaceId),
    allInWorkspace(store.tlsCertificates, workspaceId),
    allInWorkspace(store.agentFiles, workspaceId),
  ]);
  const globalSettings = workspace?.globalSettings ?? undefined;
  return {
    virtualHosts,
    upstreams,
    certificates,
    files,
    ...(globalSettings === undefined ? {} : { globalSettings }),
  };
}

/**
 * Reads what an agent's desired state derives from — the agent, then its
 * workspace's virtual hosts, upstreams, certificates and files (one query per table
 * for workspaces under 1000 rows a table) — and computes it. not_found if the
 * agent does not exist. The reads are not one snapshot: a write racing them
 * emits its own change, after which the state is computed again.
 */
export async function loadDesiredState(
  store: ConfigReads & Pick<Repositories, "agents">,
  agentId: string,
  options: DesiredStateOptions,
): Promise<DesiredState> {
  const agent = await store.agents.get(agentId);
  if (!agent) throw new DroverError("not_found", `agent ${agentId} not found`);
  const config = await loadWorkspaceConfig(store, agent.workspaceId);
  return desiredStateForAgent({ agent, ...config, options });
}

/** A change to a workspace's configuration (virtual hosts, upstreams, certificates, files). */
export interface ConfigChange {
  workspaceId: string;
}

/**
 * The agents whose desired state may change when a workspace's configuration
 * does: the agents of that workspace, sorted by id. Agents elsewhere derive
 * nothing from it, so a change reaches only these. (An agent's own changes —
 * labels, workspace — affect that agent alone.)
 */
export async function affectedAgents(
  store: Pick<Repositories, "agents">,
  change: ConfigChange,
): Promise<string[]> {
  const ids: string[] = [];
  let afterId: string | undefined;
  for (;;) {
    const page = await store.agents.list({
      workspaceId: change.workspaceId,
      limit: pageSize,
      ...(afterId === undefined ? {} : { afterId }),
    });
    for (const agent of page) ids.push(agent.id);
    if (page.length < pageSize) return ids;
    afterId = page[page.length - 1]?.id;
  }
}
