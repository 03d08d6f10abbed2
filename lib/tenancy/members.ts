import {
  checkPasswordStrength,
  hashPassword,
  type MemberRole,
  type Principal,
  requireFleetAdmin,
  requireOwnerGrant,
  requireWrite,
} from "../auth/index.ts";
import { DroverError, invalidField } from "../errors/index.ts";
import { type EventTransaction, type MemberPayload, noChanges } from "../events/index.ts";
import {
  FLEET_SCOPE,
  type MemberRow,
  type MembershipRow,
  type OrganizationRow,
  type UserRow,
} from "../store/index.ts";
import { offsetOf, type PageOf, type PageRequest, type TenancyDeps } from "./deps.ts";
import { getOrganization } from "./organizations.ts";
import { checkMemberRole, insertUser } from "./users.ts";
import { checkEmail } from "./validate.ts";

export interface MemberInput {
  email: string;
  role: MemberRole;
  /** Only to create a person the fleet does not know yet; they change it at sign-in. */
  password?: string;
}

/** A user as the fleet's admins see them: every role they hold. */
export interface UserWithRoles {
  user: UserRow;
  fleetRole: MemberRole | null;
  memberships: { organizationId: string; role: MemberRole }[];
}

/** An organization's members (not fleet-wide roles, which hold everywhere), for its readers. */
export async function listMembers(
  deps: TenancyDeps,
  principal: Principal,
  organizationId: string,
  page: PageRequest,
): Promise<PageOf<MemberRow>> {
  await getOrganization(deps, principal, organizationId);
  const [items, total] = await Promise.all([
    deps.store.memberships.listMembers(organizationId, offsetOf(page)),
    deps.store.memberships.countMembers(organizationId),
  ]);
  return { items, total };
}

/**
 * Gives a person a role in the organization: creates the user when the email
 * is unknown (with a password someone else chose, so they must change it),
 * else adds or changes their membership.
 */
export async function addMember(
  deps: TenancyDeps,
  principal: Principal,
  organizationId: string,
  input: MemberInput,
): Promise<MemberRow> {
  const organization = await writableOrganization(deps, principal, organizationId);
  const email = input.email.toLowerCase();
  checkEmail("email", email);
  checkMemberRole(input.role);
  if (input.role === "owner") requireOwnerGrant(principal, organizationId);
  const known = await deps.store.users.getByEmail(email);
  if (known && input.password !== undefined)
    throw invalidField(
      "password",
      `must not be given: ${email} already has an account and keeps their own password`,
    );
  if (!known) return createMember(deps, organization, { ...input, email });
  return deps.events.commit(async (tx) => {
    const existing = await tx.memberships.get(known.id, organizationId);
    if (existing) return changeRole(tx, principal, organization, known, existing, input.role);
    const membership = await tx.memberships.upsert({
      userId: known.id,
      scope: organizationId,
      role: input.role,
      createdAt: deps.clock.now(),
    });
    return emitMember(tx, "member.added", known, membership);
  });
}

/** Changes a member's role; the last owner stays an owner. */
export async function updateMember(
  deps: TenancyDeps,
  principal: Principal,
  organizationId: string,
  userId: string,
  input: { role: MemberRole },
): Promise<MemberRow> {
  const organization = await writableOrganization(deps, principal, organizationId);
  checkMemberRole(input.role);
  if (input.role === "owner") requireOwnerGrant(principal, organizationId);
  return deps.events.commit(async (tx) => {
    const { user, membership } = await memberOf(tx, organization, userId);
    return changeRole(tx, principal, organization, user, membership, input.role);
  });
}

/** Ends a membership (the user stays in the fleet); the last owner cannot leave. */
export async function removeMember(
  deps: TenancyDeps,
  principal: Principal,
  organizationId: string,
  userId: string,
): Promise<void> {
  const organization = await writableOrganization(deps, principal, organizationId);
  await deps.events.commit(async (tx) => {
    const { user, membership } = await memberOf(tx, organization, userId);
    if (membership.role === "owner") {
      requireOwnerGrant(principal, organizationId);
      await keepAnOwner(tx, organization, user, "removed");
    }
    await tx.memberships.delete(userId, organizationId);
    await emitMember(tx, "member.removed", user, membership);
  });
}

/** Every user with every role, for the fleet's admins. */
export async function listUsers(
  deps: TenancyDeps,
  principal: Principal,
  page: PageRequest,
): Promise<PageOf<UserWithRoles>> {
  requireFleetAdmin(principal, "listing users");
  const [users, total] = await Promise.all([
    deps.store.users.list(offsetOf(page)),
    deps.store.users.count(),
  ]);
  const memberships = await deps.store.memberships.listForUsers(users.map((user) => user.id));
  const items = users.map((user) => {
    const own = memberships.filter((membership) => membership.userId === user.id);
    return {
      user,
      fleetRole: own.find((membership) => membership.scope === FLEET_SCOPE)?.role ?? null,
      memberships: own
        .filter((membership) => membership.scope !== FLEET_SCOPE)
        .map((membership) => ({ organizationId: membership.scope, role: membership.role })),
    };
  });
  return { items, total };
}

async function writableOrganization(
  deps: TenancyDeps,
  principal: Principal,
  organizationId: string,
): Promise<OrganizationRow> {
  const organization = await getOrganization(deps, principal, organizationId);
  requireWrite(principal, organizationId, `organization ${organizationId}`);
  return organization;
}

async function createMember(
  deps: TenancyDeps,
  organization: OrganizationRow,
  input: MemberInput,
): Promise<MemberRow> {
  if (input.password === undefined)
    throw invalidField("password", `is required: ${input.email} has no account yet`);
  checkPasswordStrength(input.password);
  const passwordHash = await hashPassword(input.password);
  const at = deps.clock.now();
  return deps.events.commit(async (tx) => {
    const user = await insertUser(tx, {
      email: input.email,
      passwordHash,
      passwordChangeRequired: true,
      role: input.role,
      scope: organization.id,
      at,
    });
    const membership = { userId: user.id, scope: organization.id, role: input.role, createdAt: at };
    return emitMember(tx, "member.added", user, membership);
  });
}

async function memberOf(
  tx: EventTransaction,
  organization: OrganizationRow,
  userId: string,
): Promise<{ user: UserRow; membership: MembershipRow }> {
  const [user, membership] = await Promise.all([
    tx.users.get(userId),
    tx.memberships.get(userId, organization.id),
  ]);
  if (!user || !membership)
    throw new DroverError(
      "not_found",
      `user ${userId} is not a member of organization ${organization.slug}`,
    );
  return { user, membership };
}

async function changeRole(
  tx: EventTransaction,
  principal: Principal,
  organization: OrganizationRow,
  user: UserRow,
  membership: MembershipRow,
  role: MemberRole,
): Promise<MemberRow> {
  if (membership.role === role) return memberRow(user, membership);
  if (membership.role === "owner") {
    requireOwnerGrant(principal, organization.id);
    await keepAnOwner(tx, organization, user, "demoted");
  }
  const updated = await tx.memberships.upsert({ ...membership, role });
  await tx.emit({
    type: "member.updated",
    subjectId: user.id,
    data: { ...memberPayload(user, updated), previous_role: membership.role },
    changes: noChanges,
  });
  return memberRow(user, updated);
}

/** Counted inside the write transaction, so two removals cannot both pass. */
async function keepAnOwner(
  tx: EventTransaction,
  organization: OrganizationRow,
  user: UserRow,
  change: "removed" | "demoted",
): Promise<void> {
  if ((await tx.memberships.countMembers(organization.id, "owner")) > 1) return;
  throw new DroverError(
    "failed_precondition",
    `${user.email} is the last owner of organization ${organization.slug} and cannot be ${change}; make another member owner first`,
  );
}

function memberPayload(user: UserRow, membership: MembershipRow): MemberPayload {
  return {
    organization_id: membership.scope,
    user_id: user.id,
    email: user.email,
    role: membership.role,
  };
}

async function emitMember(
  tx: EventTransaction,
  type: "member.added" | "member.removed",
  user: UserRow,
  membership: MembershipRow,
): Promise<MemberRow> {
  const data = memberPayload(user, membership);
  await tx.emit({ type, subjectId: user.id, data, changes: noChanges });
  return memberRow(user, membership);
}

function memberRow(user: UserRow, membership: MembershipRow): MemberRow {
  return {
    userId: user.id,
    email: user.email,
    role: membership.role,
    createdAt: membership.createdAt,
  };
}
