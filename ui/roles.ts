import { me } from "./session.ts";
import type { Me } from "./types.ts";
import { type WorkspaceChoice, workspaces } from "./workspaces.ts";

/**
 * What the signed-in person may change, from /v1/auth/me: the UI hides write buttons a role
 * cannot use (the server enforces the same rules in lib/auth/principal.ts).
 */
const rank = { viewer: 1, admin: 2, owner: 3 } as const;
type Role = keyof typeof rank;

function isRole(role: string | null | undefined): role is Role {
  return role === "viewer" || role === "admin" || role === "owner";
}

/** The higher of the fleet-wide role and the organization's own. */
export function roleIn(session: Me | null | undefined, organizationId: string): Role | undefined {
  const roles = [
    session?.fleet_role,
    session?.memberships.find((m) => m.organization_id === organizationId)?.role,
  ].filter(isRole);
  return roles.sort((a, b) => rank[b] - rank[a])[0];
}

export function canWrite(organizationId: string): boolean {
  const role = roleIn(me.value, organizationId);
  return role !== undefined && rank[role] >= rank.admin;
}

/** Fleet-wide admins and owners: new organizations, the Users page. */
export function isFleetAdmin(): boolean {
  const role = me.value?.fleet_role;
  return role === "admin" || role === "owner";
}

/** Only owners of the organization, or fleet admins, grant or change `owner`. */
export function mayGrantOwner(organizationId: string): boolean {
  return roleIn(me.value, organizationId) === "owner" || isFleetAdmin();
}

/** The workspaces whose organization the person may change: the choices of a create form. */
export function writableWorkspaces(): readonly WorkspaceChoice[] {
  return (workspaces.value ?? []).filter((workspace) => canWrite(workspace.organization_id));
}

export function canWriteWorkspace(workspaceId: string): boolean {
  return writableWorkspaces().some((workspace) => workspace.id === workspaceId);
}
