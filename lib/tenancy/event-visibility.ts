import type { Principal } from "../auth/index.ts";
import type { FleetEvent } from "../events/index.ts";
import type { TenancyDeps } from "./deps.ts";

interface Scoped {
  workspace_id?: unknown;
  organization_id?: unknown;
}

/** The workspaces of the principal's organizations now; undefined for fleet-wide roles (all). */
export async function visibleWorkspaceIds(
  deps: TenancyDeps,
  principal: Principal,
): Promise<Set<string> | undefined> {
  if (principal.fleetRole) return undefined;
  const workspaces = await deps.store.workspaces.list({
    organizationIds: [...principal.organizationRoles.keys()],
    limit: Number.MAX_SAFE_INTEGER,
    offset: 0,
  });
  return new Set(workspaces.map((workspace) => workspace.id));
}

/**
 * Which events a principal may watch: fleet-wide roles see everything; others
 * see events about their organizations and those organizations' workspaces,
 * including workspaces created while they watch. Fleet-level events (agents
 * without a workspace, tokens, certificates) are for fleet-wide roles only.
 */
export async function eventVisibility(
  deps: TenancyDeps,
  principal: Principal,
): Promise<(event: FleetEvent) => boolean> {
  const workspaceIds = await visibleWorkspaceIds(deps, principal);
  if (!workspaceIds) return () => true;
  const organizations = new Set(principal.organizationRoles.keys());
  return (event) => {
    const data = (event.data ?? {}) as Scoped;
    if (
      event.type === "workspace.created" &&
      typeof data.organization_id === "string" &&
      organizations.has(data.organization_id) &&
      typeof data.workspace_id === "string"
    ) {
      workspaceIds.add(data.workspace_id);
    }
    if (typeof data.workspace_id === "string") return workspaceIds.has(data.workspace_id);
    if (typeof data.organization_id === "string") return organizations.has(data.organization_id);
    return false;
  };
}
