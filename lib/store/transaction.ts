import { sql } from "drizzle-orm";
import type { StoreDb } from "./db.ts";

/**
 * BEGIN IMMEDIATE … COMMIT on the store's one connection; the caller must hold
 * the writer lock. IMMEDIATE takes SQLite's write lock up front, so a
 * transaction never fails half-way with SQLITE_BUSY on upgrade from a read.
 * drizzle's transaction() is not used: over bun-sqlite it cannot await.
 */
export async function inTransaction<T>(db: StoreDb, op: () => Promise<T>): Promise<T> {
  await db.run(sql`BEGIN IMMEDIATE`);
  try {
    const result = await op();
    await db.run(sql`COMMIT`);
    return result;
  } catch (error) {
    try {
      await db.run(sql`ROLLBACK`);
    } catch {
      // SQLite may already have rolled back (e.g. after SQLITE_FULL); the
      // original error is the one worth reporting.
    }
    throw error;
  }
}
