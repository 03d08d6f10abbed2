import { and, asc, eq, gt, isNull } from "drizzle-orm";
import { DroverError } from "../errors/index.ts";
import { validateLabels } from "../selector/index.ts";
import { rowWhere } from "./by-id.ts";
import type { StoreDb } from "./db.ts";
import { isUniqueViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { joinTokens } from "./schema.ts";
import type { JoinTokenRepository, JoinTokenRow } from "./types.ts";
import { alreadyExists, checkLimit, notFound, plain, returned } from "./validate.ts";

function find(db: StoreDb, nonceId: string): Promise<JoinTokenRow | null> {
  return rowWhere(db, joinTokens, eq(joinTokens.nonceId, nonceId));
}

/** Why a token could not be consumed; all unauthenticated, the caller sees the reason. */
function unusable(row: JoinTokenRow | null, now: Date): DroverError {
  const reason =
    row === null
      ? "join token unknown"
      : row.usedAt !== null
        ? "join token already used"
        : row.revokedAt !== null
          ? "join token revoked"
          : row.expiresAt.getTime() <= now.getTime()
            ? "join token expired"
            : // Only reachable if another process changed the row in between.
              "join token not usable";
  return new DroverError("unauthenticated", reason);
}

export function createJoinTokenRepository(run: Runner): JoinTokenRepository {
  return {
    insert: (row) =>
      run(async (db) => {
        validateLabels(row.labels);
        try {
          return returned(
            await db
              .insert(joinTokens)
              .values({
                ...row,
                labels: plain(row.labels),
                name: row.name ?? null,
                workspaceId: row.workspaceId ?? null,
                allowSelfLabels: row.allowSelfLabels ?? false,
              })
              .returning(),
          );
        } catch (error) {
          if (isUniqueViolation(error)) throw alreadyExists("join token", row.nonceId);
          throw error;
        }
      }),

    get: (nonceId) => run((db) => find(db, nonceId)),

    list: ({ limit, afterNonceId }) =>
      run(async (db) => {
        checkLimit(limit);
        return db
          .select()
          .from(joinTokens)
          .where(afterNonceId === undefined ? undefined : gt(joinTokens.nonceId, afterNonceId))
          .orderBy(asc(joinTokens.nonceId))
          .limit(limit);
      }),

    revoke: (nonceId, at) =>
      run(async (db) => {
        const [revoked] = await db
          .update(joinTokens)
          .set({ revokedAt: at })
          .where(
            and(
              eq(joinTokens.nonceId, nonceId),
              isNull(joinTokens.usedAt),
              isNull(joinTokens.revokedAt),
            ),
          )
          .returning();
        if (revoked !== undefined) return revoked;
        const row = await find(db, nonceId);
        if (row === null) throw notFound("join token", nonceId);
        if (row.usedAt !== null) {
          throw new DroverError("failed_precondition", `join token ${nonceId} already used`);
        }
        return row; // already revoked: revoking again is a no-op
      }),

    consume: (nonceId, subjectId, now) =>
      run(async (db) => {
        // One conditional UPDATE is the single-use guarantee: of two racing
        // consumers, SQLite lets exactly one see the row still unused.
        const [consumed] = await db
          .update(joinTokens)
          .set({ usedAt: now, usedBy: subjectId })
          .where(
            and(
              eq(joinTokens.nonceId, nonceId),
              isNull(joinTokens.usedAt),
              isNull(joinTokens.revokedAt),
              gt(joinTokens.expiresAt, now),
            ),
          )
          .returning();
        if (consumed !== undefined) return consumed;
        throw unusable(await find(db, nonceId), now);
      }),
  };
}
