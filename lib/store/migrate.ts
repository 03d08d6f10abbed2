import { sql } from "drizzle-orm";
import type { StoreDb } from "./db.ts";
import { inTransaction } from "./transaction.ts";

export interface EmbeddedMigration {
  tag: string;
  /** Already split on drizzle-kit's `--> statement-breakpoint`. */
  statements: readonly string[];
}

async function appliedTags(db: StoreDb): Promise<Set<string>> {
  const rows = await db.all<{ tag: string }>(sql`SELECT tag FROM drover_migrations`);
  return new Set(rows.map((r) => r.tag));
}

/**
 * Applies pending migrations in order, each in its own transaction together
 * with its bookkeeping row, so a failed migration leaves no trace. The caller
 * holds the writer lock. Returns the tags applied.
 */
export async function migrate(
  db: StoreDb,
  migrations: ReadonlyArray<EmbeddedMigration>,
  now: () => number = Date.now,
): Promise<string[]> {
  await db.run(
    sql`CREATE TABLE IF NOT EXISTS drover_migrations (tag TEXT PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)`,
  );
  const applied: string[] = [];
  for (const migration of migrations) {
    if ((await appliedTags(db)).has(migration.tag)) continue;
    await inTransaction(db, async () => {
      // Re-checked under the write lock: another process may have migrated meanwhile.
      if ((await appliedTags(db)).has(migration.tag)) return;
      for (const statement of migration.statements) await db.run(sql.raw(statement));
      await db.run(
        sql`INSERT INTO drover_migrations (tag, applied_at) VALUES (${migration.tag}, ${now()})`,
      );
      applied.push(migration.tag);
    });
  }
  return applied;
}
