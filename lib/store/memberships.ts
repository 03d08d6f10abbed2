import { and, asc, count, eq, inArray } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { isForeignKeyViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { FLEET_SCOPE, type MembershipRole, memberships, organizations, users } from "./schema.ts";
import { atomically } from "./transaction.ts";
import type { MembershipRepository } from "./types.ts";
import { checkIds, checkLimit, checkOffset, checkText, notFound, returned } from "./validate.ts";

const ROLES: readonly MembershipRole[] = ["owner", "admin", "viewer"];

function checkRole(role: unknown): void {
  if (!ROLES.includes(role as MembershipRole)) {
    throw invalidField("role", `must be one of ${ROLES.join(", ")}`);
  }
}

export function createMembershipRepository(run: Runner): MembershipRepository {
  return {
    upsert: ({ userId, scope, role, createdAt }) =>
      run(async (db) => {
        checkText("userId", userId);
        checkText("scope", scope);
        checkRole(role);
        try {
          // Write first, then check the scope: atomically's transaction then
          // holds the write lock before it reads, and a missing organization
          // rolls the write back.
          return await atomically(db, async () => {
            const row = returned(
              await db
                .insert(memberships)
                .values({ userId, scope, role, createdAt })
                .onConflictDoUpdate({
                  target: [memberships.userId, memberships.scope],
                  set: { role },
                })
                .returning(),
            );
            if (scope !== FLEET_SCOPE) {
              const [org] = await db
                .select({ id: organizations.id })
                .from(organizations)
                .where(eq(organizations.id, scope));
              // scope is not a foreign key ("*" is no organization id): checked here.
              if (org === undefined) throw notFound("organization", scope);
            }
            return row;
          });
        } catch (error) {
          if (isForeignKeyViolation(error)) throw notFound("user", userId);
          throw error;
        }
      }),

    listForUser: (userId) =>
      run((db) =>
        db
          .select()
          .from(memberships)
          .where(eq(memberships.userId, userId))
          .orderBy(asc(memberships.scope)),
      ),

    get: (userId, scope) =>
      run(async (db) => {
        const [row] = await db
          .select()
          .from(memberships)
          .where(and(eq(memberships.userId, userId), eq(memberships.scope, scope)));
        return row ?? null;
      }),

    listMembers: (scope, { limit, offset }) =>
      run(async (db) => {
        checkText("scope", scope);
        checkLimit(limit);
        checkOffset(offset);
        return db
          .select({
            userId: memberships.userId,
            email: users.email,
            role: memberships.role,
            createdAt: memberships.createdAt,
          })
          .from(memberships)
          .innerJoin(users, eq(users.id, memberships.userId))
          .where(eq(memberships.scope, scope))
          .orderBy(asc(memberships.createdAt), asc(memberships.userId))
          .limit(limit)
          .offset(offset);
      }),

    countMembers: (scope, role) =>
      run(async (db) => {
        const [row] = await db
          .select({ n: count() })
          .from(memberships)
          .where(
            and(
              eq(memberships.scope, scope),
              role === undefined ? undefined : eq(memberships.role, role),
            ),
          );
        return row?.n ?? 0;
      }),

    listForUsers: (userIds) =>
      run(async (db) => {
        checkIds("userIds", userIds);
        if (userIds.length === 0) return [];
        return db
          .select()
          .from(memberships)
          .where(inArray(memberships.userId, [...userIds]))
          .orderBy(asc(memberships.userId), asc(memberships.scope));
      }),

    delete: (userId, scope) =>
      run(async (db) => {
        const rows = await db
          .delete(memberships)
          .where(and(eq(memberships.userId, userId), eq(memberships.scope, scope)))
          .returning({ userId: memberships.userId });
        return rows.length > 0;
      }),
  };
}
