import { asc, count, eq } from "drizzle-orm";
import { DroverError, invalidField } from "../errors/index.ts";
import { isUniqueViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { users } from "./schema.ts";
import type { UserRepository } from "./types.ts";
import {
  alreadyExists,
  checkLimit,
  checkOffset,
  checkText,
  notFound,
  returned,
} from "./validate.ts";

/** One spelling per address, or a second account could take the same mailbox. */
function foldEmail(email: unknown): string {
  if (typeof email !== "string" || !email.includes("@")) {
    throw invalidField("email", "must be an email address");
  }
  return email.toLowerCase();
}

export function createUserRepository(run: Runner): UserRepository {
  return {
    insert: (row) =>
      run(async (db) => {
        checkText("id", row.id);
        checkText("passwordHash", row.passwordHash);
        const email = foldEmail(row.email);
        try {
          return returned(
            await db
              .insert(users)
              .values({
                id: row.id,
                email,
                passwordHash: row.passwordHash,
                createdAt: row.createdAt,
                updatedAt: row.updatedAt,
              })
              .returning(),
          );
        } catch (error) {
          if (isUniqueViolation(error, "users.email")) {
            throw new DroverError("already_exists", `user with email ${email} already exists`);
          }
          if (isUniqueViolation(error)) throw alreadyExists("user", row.id);
          throw error;
        }
      }),

    get: (id) =>
      run(async (db) => {
        const [row] = await db.select().from(users).where(eq(users.id, id));
        return row ?? null;
      }),

    getByEmail: (email) =>
      run(async (db) => {
        if (typeof email !== "string") throw invalidField("email", "must be a string");
        const [row] = await db.select().from(users).where(eq(users.email, email.toLowerCase()));
        return row ?? null;
      }),

    list: ({ limit, offset }) =>
      run(async (db) => {
        checkLimit(limit);
        checkOffset(offset);
        return db
          .select()
          .from(users)
          .orderBy(asc(users.createdAt), asc(users.id))
          .limit(limit)
          .offset(offset);
      }),

    count: () =>
      run(async (db) => {
        const [row] = await db.select({ n: count() }).from(users);
        return row?.n ?? 0;
      }),

    updatePassword: (id, passwordHash, at) =>
      run(async (db) => {
        checkText("passwordHash", passwordHash);
        const [row] = await db
          .update(users)
          .set({ passwordHash, updatedAt: at })
          .where(eq(users.id, id))
          .returning();
        if (row === undefined) throw notFound("user", id);
        return row;
      }),

    delete: (id) =>
      run(async (db) => {
        // Memberships and refresh tokens go by ON DELETE CASCADE.
        const rows = await db.delete(users).where(eq(users.id, id)).returning({ id: users.id });
        return rows.length > 0;
      }),
  };
}
