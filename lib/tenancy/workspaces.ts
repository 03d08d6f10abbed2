import { type Principal, requireRead, requireWrite } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import { type Changes, noChanges, type PublishInput } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import type { AlertThresholds, GlobalSettings, WorkspaceRow } from "../store/index.ts";
import { workspacesCascade } from "./cascades.ts";
import { offsetOf, type PageOf, type PageRequest, type TenancyDeps } from "./deps.ts";
import { getOrganization } from "./organizations.ts";
import { checkDisplayName, checkSlug } from "./validate.ts";
import {
  checkAlertThresholds,
  checkGlobalSettings,
  sameGlobalSettings,
} from "./workspace-settings.ts";

export interface WorkspaceInput {
  name: string;
  slug: string;
  /** For every agent of the workspace; null or absent: none. */
  globalSettings?: GlobalSettings | null;
  /** Per metric, replacing the default; null or absent: the defaults. */
  alertThresholds?: AlertThresholds | null;
}

function checkWorkspace(input: Partial<WorkspaceInput>): void {
  if (input.name !== undefined) checkDisplayName("name", input.name);
  if (input.slug !== undefined) checkSlug("slug", input.slug);
  if (input.globalSettings) checkGlobalSettings("global_settings", input.globalSettings);
  if (input.alertThresholds) checkAlertThresholds("alert_thresholds", input.alertThresholds);
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
  checkWorkspace(input);
  const now = deps.clock.now();
  return deps.events.commit(async (tx) => {
    const workspace = await tx.workspaces.insert({
      id: newId("ws"),
      organizationId,
      name: input.name,
      slug: input.slug,
      globalSettings: input.globalSettings ?? null,
      alertThresholds: input.alertThresholds ?? null,
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
  checkWorkspace(patch);
  const { name, slug, globalSettings, alertThresholds } = patch;
  return deps.events.commit(async (tx) => {
    const workspace = await tx.workspaces.update(
      id,
      { name, slug, globalSettings, alertThresholds },
      deps.clock.now(),
    );
    // Only global settings reach agents (name, slug and thresholds stay on the
    // server); the health streams hear of new thresholds from this event itself.
    const changes =
      globalSettings === undefined ||
      sameGlobalSettings(existing.globalSettings, workspace.globalSettings)
        ? noChanges
        : { workspaces: [workspace.id] };
    await tx.emit(workspaceEvent("workspace.updated", workspace, changes));
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
