import { type Principal, requireRead, requireWrite } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import type { WorkspaceRow } from "../store/index.ts";
import type { TenancyDeps } from "./deps.ts";
import { getWorkspace } from "./workspaces.ts";

/**
 * Configuration objects are seen through their workspace's organization, as
 * workspaces are: invisible ones are not_found, viewers cannot write.
 */

/** The workspace, visible to the principal; with write, one it may change. */
export async function workspaceForConfig(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  write: boolean,
): Promise<WorkspaceRow> {
  const workspace = await getWorkspace(deps, principal, workspaceId);
  if (write) requireWrite(principal, workspace.organizationId, `workspace ${workspaceId}`);
  return workspace;
}

/** The workspace of an object the principal asked for by id; `what` names the object. */
export async function workspaceOfObject(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  what: string,
  write: boolean,
): Promise<WorkspaceRow> {
  const workspace = await deps.store.workspaces.get(workspaceId);
  if (!workspace) throw new DroverError("not_found", `${what} not found`);
  (write ? requireWrite : requireRead)(principal, workspace.organizationId, what);
  return workspace;
}

/** The data every configuration event carries. */
export function scopeData(workspace: WorkspaceRow) {
  return { workspace_id: workspace.id, organization_id: workspace.organizationId };
}
