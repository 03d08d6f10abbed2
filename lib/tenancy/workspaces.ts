import { type Principal, requireRead, requireWrite } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import { type Changes, noChanges, type PublishInput } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import type { WorkspaceRow } from "../store/index.ts";
import { workspacesCascade } from "./cascades.ts";
import { offsetOf, type PageOf, type PageRequest, type TenancyDeps } from "./deps.ts";
import { getOrganization } from "./organizations.ts";
import { checkDisplayName, checkSlug } from "./validate.ts";

export interface WorkspaceInput {
  name: string;
  slug: string;
}

function workspaceEvent(
  type: "workspace.created" | "workspace.updated" | "workspace.deleted",
  workspace: WorkspaceRow,
  changes: Changes,
): PublishInput {
  return {
    type,
    subjectId: workspace.id,
    data: { workspace_id: workspace.id, organization_id: workspace.organizationId },
    changes,
  };
}

export async function listWorkspaces(
  deps: TenancyDeps,
  principal: Principal,
  organizationId: string,
  page: PageRequest,
): Promise<PageOf<WorkspaceRow>> {
  await getOrganization(deps, principal, organizationId);
  const [items, total] = await Promise.all([
    deps.store.workspaces.list({ organizationId, ...offsetOf(page) }),
    deps.store.workspaces.count({ organizationId }),
  ]);
  return { items, total };
}

export async function createWorkspace(
  deps: TenancyDeps,
  principal: Principal,
  organizationId: string,
  input: WorkspaceInput,
): Promise<WorkspaceRow> {
  await getOrganization(deps, principal, organizationId);
  requireWrite(principal, organizationId, `organization ${organizationId}`);
  checkDisplayName("name", input.name);
  checkSlug("slug", input.slug);
  const now = deps.clock.now();
  return deps.events.commit(async (tx) => {
    const workspace = await tx.workspaces.insert({
      id: newId("ws"),
      organizationId,
      name: input.name,
      slug: input.slug,
      createdAt: now,
      updatedAt: now,
    });
    // Empty and without agents: no agent's configuration moves.
    await tx.emit(workspaceEvent("workspace.created", workspace, noChanges));
    return workspace;
  });
}

/** A workspace the principal may see; not_found otherwise, whatever the reason. */
export async function getWorkspace(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<WorkspaceRow> {
  const workspace = await deps.store.workspaces.get(id);
  if (!workspace) throw new DroverError("not_found", `workspace ${id} not found`);
  requireRead(principal, workspace.organizationId, `workspace ${id}`);
  return workspace;
}

export async function updateWorkspace(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
  patch: Partial<WorkspaceInput>,
): Promise<WorkspaceRow> {
  const existing = await getWorkspace(deps, principal, id);
  requireWrite(principal, existing.organizationId, `workspace ${id}`);
  if (patch.name !== undefined) checkDisplayName("name", patch.name);
  if (patch.slug !== undefined) checkSlug("slug", patch.slug);
  return deps.events.commit(async (tx) => {
    const workspace = await tx.workspaces.update(id, patch, deps.clock.now());
    // Name and slug reach no agent.
    await tx.emit(workspaceEvent("workspace.updated", workspace, noChanges));
    return workspace;
  });
}

export async function deleteWorkspace(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<void> {
  const workspace = await getWorkspace(deps, principal, id);
  requireWrite(principal, workspace.organizationId, `workspace ${id}`);
  await deps.events.commit(async (tx) => {
    const changes = await workspacesCascade(tx, [id]);
    if (!(await tx.workspaces.delete(id)))
      throw new DroverError("not_found", `workspace ${id} not found`);
    await tx.emit(workspaceEvent("workspace.deleted", workspace, changes));
  });
}
