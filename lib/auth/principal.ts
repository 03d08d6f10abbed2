import { DroverError } from "../errors/index.ts";

export type MemberRole = "owner" | "admin" | "viewer";

/** Who is asking, and in which organizations they hold which role. */
export interface Principal {
  kind: "user" | "operator";
  id: string;
  /** A role across the whole fleet: it holds in every organization. */
  fleetRole?: MemberRole;
  organizationRoles: ReadonlyMap<string, MemberRole>;
}

const rank: Record<MemberRole, number> = { viewer: 1, admin: 2, owner: 3 };

/** An operator certificate acts as a fleet-wide owner. */
export function operatorPrincipal(id: string): Principal {
  return { kind: "operator", id, fleetRole: "owner", organizationRoles: new Map() };
}

export function roleIn(principal: Principal, organizationId: string): MemberRole | undefined {
  const roles = [principal.fleetRole, principal.organizationRoles.get(organizationId)].filter(
    (role): role is MemberRole => role !== undefined,
  );
  return roles.sort((a, b) => rank[b] - rank[a])[0];
}

/** Organization ids the principal may see; undefined means all of them. */
export function visibleOrganizationIds(principal: Principal): string[] | undefined {
  return principal.fleetRole ? undefined : [...principal.organizationRoles.keys()];
}

/**
 * Objects of an organization the principal cannot see do not exist for it:
 * not_found, never permission_denied, so ids do not leak across organizations.
 */
export function requireRead(principal: Principal, organizationId: string, what: string): void {
  if (!roleIn(principal, organizationId)) throw new DroverError("not_found", `${what} not found`);
}

/** Writing needs admin or owner; a viewer who can see the object is told so. */
export function requireWrite(principal: Principal, organizationId: string, what: string): void {
  const role = roleIn(principal, organizationId);
  if (!role) throw new DroverError("not_found", `${what} not found`);
  if (rank[role] < rank.admin) {
    throw new DroverError(
      "permission_denied",
      `role ${role} cannot change ${what}; admin or owner needed`,
    );
  }
}

/** Fleet-level changes (new organizations, users, unassigned agents) need a fleet-wide admin. */
export function requireFleetAdmin(principal: Principal, action: string): void {
  if (!principal.fleetRole || rank[principal.fleetRole] < rank.admin) {
    throw new DroverError("permission_denied", `${action} needs a fleet-wide admin or owner`);
  }
}

/**
 * Granting the owner role, or taking it away, needs an owner of the
 * organization or a fleet-wide admin: an organization's admin cannot make
 * themselves, or unmake, the people above them.
 */
export function requireOwnerGrant(principal: Principal, organizationId: string): void {
  const fleetAdmin = principal.fleetRole !== undefined && rank[principal.fleetRole] >= rank.admin;
  if (fleetAdmin || roleIn(principal, organizationId) === "owner") return;
  throw new DroverError(
    "permission_denied",
    "only an owner of the organization or a fleet-wide admin can grant or take away the owner role",
  );
}
