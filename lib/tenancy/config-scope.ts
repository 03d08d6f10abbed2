import { type Principal, requireRead, requireWrite } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import type { Changes, ScopePayload } from "../events/index.ts";
import type { PagedReads, WorkspaceRow, WorkspaceScopeFilter } from "../store/index.ts";
import { offsetOf, type PageOf, type PageRequest, type TenancyDeps } from "./deps.ts";
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
export function scopeData(workspace: WorkspaceRow): ScopePayload {
  return { workspace_id: workspace.id, organization_id: workspace.organizationId };
}

/** A configuration object changed: every agent of its workspace is computed again. */
export function workspaceChanged(workspace: WorkspaceRow): Changes {
  return { workspaces: [workspace.id] };
}

/** A page of a workspace's objects of one kind, for a principal who may see the workspace. */
export async function listInWorkspace<Row>(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  page: PageRequest,
  reads: PagedReads<Row, WorkspaceScopeFilter>,
): Promise<PageOf<Row>> {
  await workspaceForConfig(deps, principal, workspaceId, false);
  const [items, total] = await Promise.all([
    reads.list({ workspaceId, ...offsetOf(page) }),
    reads.count({ workspaceId }),
  ]);
  return { items, total };
}

/**
 * An object by id with its workspace, for a principal who may read it (or,
 * with write, change it); `what` names it: "file file-…". not_found when it
 * does not exist or its organization is not the principal's.
 */
export async function objectInWorkspace<Row extends { workspaceId: string }>(
  deps: TenancyDeps,
  principal: Principal,
  reads: { get(id: string): Promise<Row | null> },
  what: string,
  id: string,
  write: boolean,
): Promise<{ row: Row; workspace: WorkspaceRow }> {
  const row = await reads.get(id);
  if (!row) throw new DroverError("not_found", `${what} not found`);
  return { row, workspace: await workspaceOfObject(deps, principal, row.workspaceId, what, write) };
}

/** A patch's fields that are set: undefined means "leave as stored". */
export function definedFields<T extends object>(patch: Partial<T>): Partial<T> {
  return Object.fromEntries(
    Object.entries(patch).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
