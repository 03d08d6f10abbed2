import { and, eq, gt, isNull } from "drizzle-orm";
import { DroverError, invalidField } from "../errors/index.ts";
import { rowById } from "./by-id.ts";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { refreshTokens } from "./schema.ts";
import type { RefreshTokenRepository } from "./types.ts";
import { checkText, notFound, returned } from "./validate.ts";

// The id is a digest: anything else here would most likely be the token itself.
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function createRefreshTokenRepository(run: Runner): RefreshTokenRepository {
  return {
    insert: (row) =>
      run(async (db) => {
        if (typeof row.id !== "string" || !SHA256_HEX.test(row.id)) {
          throw invalidField("id", "must be the lowercase SHA-256 hex of the token");
        }
        checkText("familyId", row.familyId);
        checkText("userId", row.userId);
        const { id, familyId, userId, createdAt, expiresAt } = row;
        try {
          return returned(
            await db
              .insert(refreshTokens)
              .values({ id, familyId, userId, createdAt, expiresAt })
              .returning(),
          );
        } catch (error) {
          if (isUniqueViolation(error)) {
            throw new DroverError("already_exists", "refresh token already exists");
          }
          if (isForeignKeyViolation(error)) throw notFound("user", userId);
          throw error;
        }
      }),

    get: (id) => run((db) => rowById(db, refreshTokens, id)),

    use: (id, at) =>
      run(async (db) => {
        // One conditional UPDATE is the single-use guarantee, as for join tokens.
        const [row] = await db
          .update(refreshTokens)
          .set({ usedAt: at })
          .where(
            and(
              eq(refreshTokens.id, id),
              isNull(refreshTokens.usedAt),
              isNull(refreshTokens.revokedAt),
              gt(refreshTokens.expiresAt, at),
            ),
          )
          .returning();
        return row ?? null;
      }),

    revokeFamily: (familyId, at) =>
      run(async (db) => {
        const rows = await db
          .update(refreshTokens)
          .set({ revokedAt: at })
          .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)))
          .returning({ id: refreshTokens.id });
        return rows.length;
      }),

    revokeForUser: (userId, at) =>
      run(async (db) => {
        const rows = await db
          .update(refreshTokens)
          .set({ revokedAt: at })
          .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
          .returning({ id: refreshTokens.id });
        return rows.length;
      }),
  };
}
