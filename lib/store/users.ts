import { eq } from "drizzle-orm";
import { DroverError, invalidField } from "../errors/index.ts";
import { deleteById, rowWhere, updateById } from "./by-id.ts";
import { isUniqueViolation } from "./errors.ts";
import { pagedReads } from "./paged.ts";
import type { Runner } from "./runner.ts";
import { users } from "./schema.ts";
import type { UserRepository } from "./types.ts";
import { alreadyExists, checkText, returned } from "./validate.ts";

/** One spelling per address, or a second account could take the same mailbox. */
function foldEmail(email: unknown): string {
  if (typeof email !== "string" || !email.includes("@")) {
    throw invalidField("email", "must be an email address");
  }
  return email.toLowerCase();
}

export function createUserRepository(run: Runner): UserRepository {
  return {
    // Users are listed whole: there is no filter.
    ...pagedReads(run, users, () => undefined),

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
                passwordChangeRequired: row.passwordChangeRequired ?? false,
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

    getByEmail: (email) =>
      run(async (db) => {
        if (typeof email !== "string") throw invalidField("email", "must be a string");
        return rowWhere(db, users, eq(users.email, email.toLowerCase()));
      }),

    updatePassword: (id, passwordHash, at) =>
      run(async (db) => {
        checkText("passwordHash", passwordHash);
        return updateById(db, users, id, { passwordHash, updatedAt: at }, "user");
      }),

    setPasswordChangeRequired: (id, required, at) =>
      run((db) =>
        updateById(db, users, id, { passwordChangeRequired: required, updatedAt: at }, "user"),
      ),

    delete: (id) =>
      // Memberships and refresh tokens go by ON DELETE CASCADE.
      run((db) => deleteById(db, users, id)),
  };
}
