import { noChanges } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import type { WorkspaceRow } from "../store/index.ts";
import type { TenancyDeps } from "./deps.ts";

/** The slug of the organization, and of the workspace in it, a fresh fleet starts with. */
export const defaultSlug = "default";

/**
 * A fleet with no organization gets the default organization and workspace
 * ("Default", slug `default`): the first start, and an upgraded data dir
 * that never had one. Agents joined without a workspace land there, so a
 * virtual host can target them from the first hour. Returns the workspace
 * when it created it.
 */
export async function ensureDefaultWorkspace(deps: TenancyDeps): Promise<WorkspaceRow | undefined> {
  if ((await deps.store.organizations.count()) > 0) return undefined;
  const now = deps.clock.now();
  const names = { name: "Default", slug: defaultSlug, createdAt: now, updatedAt: now };
  return deps.events.commit(async (tx) => {
    const organization = await tx.organizations.insert({ id: newId("org"), ...names });
    await tx.emit({
      type: "organization.created",
      subjectId: organization.id,
      data: { organization_id: organization.id },
      changes: noChanges,
    });
    const workspace = await tx.workspaces.insert({
      id: newId("ws"),
      organizationId: organization.id,
      ...names,
    });
    // Empty and without agents: no agent's configuration moves.
    await tx.emit({
      type: "workspace.created",
      subjectId: workspace.id,
      data: { workspace_id: workspace.id, organization_id: organization.id },
      changes: noChanges,
    });
    return workspace;
  });
}

/** Workspace `default` of organization `default`, unless renamed or deleted since. */
export async function findDefaultWorkspace(deps: TenancyDeps): Promise<WorkspaceRow | undefined> {
  const organization = await deps.store.organizations.getBySlug(defaultSlug);
  if (!organization) return undefined;
  const [workspace] = await deps.store.workspaces.list({
    organizationId: organization.id,
    slug: defaultSlug,
    limit: 1,
    offset: 0,
  });
  return workspace;
}
