import { randomBytes } from "node:crypto";
import { checkPasswordStrength, hashPassword, type MemberRole } from "../auth/index.ts";
import { DroverError, invalidField } from "../errors/index.ts";
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
}

const roles: readonly MemberRole[] = ["owner", "admin", "viewer"];

/** Creates a user with one membership, in one transaction. Callers check who may do this. */
export async function createUser(deps: TenancyDeps, input: CreateUserInput): Promise<UserRow> {
  const email = input.email.toLowerCase();
  checkEmail("email", email);
  checkPasswordStrength(input.password);
  if (!roles.includes(input.role)) throw invalidField("role", "must be owner, admin or viewer");
  let scope = "*";
  if (input.organizationSlug) {
    const organization = await deps.store.organizations.getBySlug(input.organizationSlug);
    if (!organization)
      throw new DroverError("not_found", `organization ${input.organizationSlug} not found`);
    scope = organization.id;
  }
  const passwordHash = await hashPassword(input.password);
  const now = deps.clock.now();
  const user = await deps.store.transaction(async (tx) => {
    const created = await tx.users.insert({
      id: newId("usr"),
      email,
      passwordHash,
      createdAt: now,
      updatedAt: now,
    });
    await tx.memberships.upsert({ userId: created.id, scope, role: input.role, createdAt: now });
    return created;
  });
  await deps.events.publish({
    type: "user.created",
    subjectId: user.id,
    data: { email, role: input.role, scope },
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
  await createUser(deps, { email: firstAdminEmail, password, role: "owner" });
  return { email: firstAdminEmail, password };
}
