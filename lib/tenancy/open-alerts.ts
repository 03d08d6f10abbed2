import type { Principal } from "../auth/index.ts";
import type { Fleet, OpenAlert } from "../fleet/index.ts";
import { visibleWorkspaceIds } from "./event-visibility.ts";
import { getWorkspace } from "./workspaces.ts";

/** An open alert with the workspace its agent is in now (null: an agent without one). */
export interface VisibleAlert extends OpenAlert {
  workspaceId: string | null;
}

/**
 * The alerts firing now that the principal may see, newest first: those of
 * agents in its organizations' workspaces (agents without a workspace: fleet
 * roles only, as their events). An agent's workspace is read now, so an agent
 * moved to another organization takes its alerts along; a deleted agent's go.
 */
export async function listOpenAlerts(
  fleet: Fleet,
  principal: Principal,
  query: { workspaceId?: string },
): Promise<VisibleAlert[]> {
  if (query.workspaceId !== undefined) await getWorkspace(fleet.deps, principal, query.workspaceId);
  const visible = await visibleWorkspaceIds(fleet.deps, principal);
  const open = fleet.openAlerts();
  const agentIds = [...new Set(open.map((alert) => alert.agentId))];
  const agents = await Promise.all(agentIds.map((id) => fleet.deps.store.agents.get(id)));
  const workspaceOf = new Map(
    agents.flatMap((agent) => (agent ? [[agent.id, agent.workspaceId] as const] : [])),
  );
  return open.flatMap((alert) => {
    const workspaceId = workspaceOf.get(alert.agentId);
    if (workspaceId === undefined) return [];
    if (query.workspaceId !== undefined && workspaceId !== query.workspaceId) return [];
    if (visible && (workspaceId === null || !visible.has(workspaceId))) return [];
    return [{ ...alert, workspaceId }];
  });
}
