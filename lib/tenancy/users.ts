import { randomBytes } from "node:crypto";
import {
  checkPasswordStrength,
  hashPassword,
  type MemberRole,
  type Principal,
  verifyPassword,
} from "../auth/index.ts";
import { DroverError, invalidField } from "../errors/index.ts";
import { type EventTransaction, noChanges } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import type { UserRow } from "../store/index.ts";
import type { TenancyDeps } from "./deps.ts";
import { checkEmail } from "./validate.ts";

export interface CreateUserInput {
  email: string;
  password: string;
  /** The organization the role holds in; without it the role is fleet-wide. */
  organizationSlug?: string;
  role: MemberRole;
  /** For a password someone else chose: the user is asked to change it at sign-in. */
  passwordChangeRequired?: boolean;
}

const roles: readonly MemberRole[] = ["owner", "admin", "viewer"];

export function checkMemberRole(role: MemberRole): void {
  if (!roles.includes(role)) throw invalidField("role", "must be owner, admin or viewer");
}

/** Creates a user with one membership, in one transaction. Callers check who may do this. */
export async function createUser(deps: TenancyDeps, input: CreateUserInput): Promise<UserRow> {
  const email = input.email.toLowerCase();
  checkEmail("email", email);
  checkPasswordStrength(input.password);
  checkMemberRole(input.role);
  let scope = "*";
  if (input.organizationSlug) {
    const organization = await deps.store.organizations.getBySlug(input.organizationSlug);
    if (!organization)
      throw new DroverError("not_found", `organization ${input.organizationSlug} not found`);
    scope = organization.id;
  }
  const passwordHash = await hashPassword(input.password);
  const at = deps.clock.now();
  return deps.events.commit((tx) =>
    insertUser(tx, {
      email,
      passwordHash,
      passwordChangeRequired: input.passwordChangeRequired ?? false,
      role: input.role,
      scope,
      at,
    }),
  );
}

/**
 * Inside a transaction: the user, their one membership and user.created.
 * The email is already checked and folded, the password already hashed.
 */
export async function insertUser(
  tx: EventTransaction,
  input: {
    email: string;
    passwordHash: string;
    passwordChangeRequired: boolean;
    role: MemberRole;
    scope: string;
    at: Date;
  },
): Promise<UserRow> {
  const { email, role, scope, at } = input;
  const user = await tx.users.insert({
    id: newId("usr"),
    email,
    passwordHash: input.passwordHash,
    passwordChangeRequired: input.passwordChangeRequired,
    createdAt: at,
    updatedAt: at,
  });
  await tx.memberships.upsert({ userId: user.id, scope, role, createdAt: at });
  await tx.emit({
    type: "user.created",
    subjectId: user.id,
    data: { email, role, scope },
    changes: noChanges,
  });
  return user;
}

export const firstAdminEmail = "admin@drover.local";

/**
 * At first start the fleet has no users: create a fleet-wide owner with a
 * random password and return it, once, for the server to print.
 */
export async function ensureFirstAdmin(
  deps: TenancyDeps,
): Promise<{ email: string; password: string } | undefined> {
  if ((await deps.store.users.count()) > 0) return undefined;
  const password = randomBytes(18).toString("base64url");
  await createUser(deps, {
    email: firstAdminEmail,
    password,
    role: "owner",
    passwordChangeRequired: true,
  });
  return { email: firstAdminEmail, password };
}

/**
 * A data dir from before the flag existed, whose first admin still has the
 * initial password (its file is still there): they must change it too. The
 * password is checked, not just the file, so a file that failed to go away
 * after a change does not bring the demand back.
 */
export async function requireFirstAdminPasswordChange(
  deps: TenancyDeps,
  initialPassword: string,
): Promise<boolean> {
  const admin = await deps.store.users.getByEmail(firstAdminEmail);
  if (!admin || admin.passwordChangeRequired) return false;
  if (!(await verifyPassword(initialPassword, admin.passwordHash))) return false;
  await deps.store.users.setPasswordChangeRequired(admin.id, true, deps.clock.now());
  return true;
}

/**
 * A user changes their own password, proving the current one. Emits
 * user.password_changed (the server then removes the first admin's
 * initial-admin-password file).
 */
export async function changeOwnPassword(
  deps: TenancyDeps,
  principal: Principal,
  input: { currentPassword: string; newPassword: string },
): Promise<void> {
  if (principal.kind !== "user")
    throw new DroverError("failed_precondition", "only a user signed in with a password has one");
  const user = await deps.store.users.get(principal.id);
  if (!user || !(await verifyPassword(input.currentPassword, user.passwordHash)))
    throw new DroverError("unauthenticated", "the current password is wrong");
  checkPasswordStrength(input.newPassword);
  const passwordHash = await hashPassword(input.newPassword);
  await deps.events.commit(async (tx) => {
    const now = deps.clock.now();
    await tx.users.updatePassword(user.id, passwordHash, now);
    await tx.users.setPasswordChangeRequired(user.id, false, now);
    await tx.emit({
      type: "user.password_changed",
      subjectId: user.id,
      data: { email: user.email },
      changes: noChanges,
    });
  });
}

/**
 * Sets a user's password without the current one: for whoever holds the
 * fleet itself (the admin credential, or the stopped server's data dir), so
 * a lost password is never a dead end. Callers check who may do this. Every
 * refresh token of the user is revoked with it, so sessions that may have
 * come with the lost password end within an access token's lifetime.
 */
export async function resetUserPassword(
  deps: TenancyDeps,
  input: { email: string; password: string },
): Promise<{ user: UserRow; revokedRefreshTokens: number }> {
  const email = input.email.toLowerCase();
  checkEmail("email", email);
  const user = await deps.store.users.getByEmail(email);
  if (!user) throw new DroverError("not_found", `no user has email ${email}`);
  checkPasswordStrength(input.password);
  const passwordHash = await hashPassword(input.password);
  return deps.events.commit(async (tx) => {
    const now = deps.clock.now();
    const updated = await tx.users.updatePassword(user.id, passwordHash, now);
    const revokedRefreshTokens = await tx.refreshTokens.revokeForUser(user.id, now);
    await tx.emit({
      type: "user.password_changed",
      subjectId: user.id,
      data: { email: user.email },
      changes: noChanges,
    });
    return { user: updated, revokedRefreshTokens };
  });
}
