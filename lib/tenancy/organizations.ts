import {
  type Principal,
  requireFleetAdmin,
  requireRead,
  requireWrite,
  visibleOrganizationIds,
} from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import { noChanges } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import type { OrganizationRow } from "../store/index.ts";
import { organizationCascade } from "./cascades.ts";
import { offsetOf, type PageOf, type PageRequest, type TenancyDeps } from "./deps.ts";
import { checkDisplayName, checkSlug } from "./validate.ts";

export interface OrganizationInput {
  name: string;
  slug: string;
}

export async function listOrganizations(
  deps: TenancyDeps,
  principal: Principal,
  page: PageRequest,
): Promise<PageOf<OrganizationRow>> {
  const ids = visibleOrganizationIds(principal);
  const [items, total] = await Promise.all([
    deps.store.organizations.list({ ids, ...offsetOf(page) }),
    deps.store.organizations.count({ ids }),
  ]);
  return { items, total };
}

export async function createOrganization(
  deps: TenancyDeps,
  principal: Principal,
  input: OrganizationInput,
): Promise<OrganizationRow> {
  requireFleetAdmin(principal, "creating an organization");
  checkDisplayName("name", input.name);
  checkSlug("slug", input.slug);
  const now = deps.clock.now();
  return deps.events.commit(async (tx) => {
    const organization = await tx.organizations.insert({
      id: newId("org"),
      name: input.name,
      slug: input.slug,
      createdAt: now,
      updatedAt: now,
    });
    await tx.emit({
      type: "organization.created",
      subjectId: organization.id,
      data: { organization_id: organization.id },
      changes: noChanges,
    });
    return organization;
  });
}

export async function getOrganization(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<OrganizationRow> {
  requireRead(principal, id, `organization ${id}`);
  const organization = await deps.store.organizations.get(id);
  if (!organization) throw new DroverError("not_found", `organization ${id} not found`);
  return organization;
}

export async function updateOrganization(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
  patch: Partial<OrganizationInput>,
): Promise<OrganizationRow> {
  await getOrganization(deps, principal, id);
  requireWrite(principal, id, `organization ${id}`);
  if (patch.name !== undefined) checkDisplayName("name", patch.name);
  if (patch.slug !== undefined) checkSlug("slug", patch.slug);
  return deps.events.commit(async (tx) => {
    const organization = await tx.organizations.update(id, patch, deps.clock.now());
    await tx.emit({
      type: "organization.updated",
      subjectId: id,
      data: { organization_id: id },
      changes: noChanges,
    });
    return organization;
  });
}

export async function deleteOrganization(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<void> {
  await getOrganization(deps, principal, id);
  requireWrite(principal, id, `organization ${id}`);
  await deps.events.commit(async (tx) => {
    // Its workspaces go with it; their agents stay, unassigned, and lose their configuration.
    const changes = await organizationCascade(tx, id);
    if (!(await tx.organizations.delete(id)))
      throw new DroverError("not_found", `organization ${id} not found`);
    await tx.emit({
      type: "organization.deleted",
      subjectId: id,
      data: { organization_id: id },
      changes,
    });
  });
}
