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

/**
 * Runs op atomically whether or not a transaction is open: a SAVEPOINT nests
 * inside store.transaction's BEGIN IMMEDIATE, and outside one starts its own
 * transaction (BEGIN would fail inside one). op's first statement must be a
 * write, so that transaction takes the write lock before it reads anything.
 * The caller holds the writer lock.
 */
export async function atomically<T>(db: StoreDb, op: () => Promise<T>): Promise<T> {
  await db.run(sql`SAVEPOINT drover_atomically`);
  try {
    const result = await op();
    await db.run(sql`RELEASE drover_atomically`);
    return result;
  } catch (error) {
    try {
      // ROLLBACK TO keeps the savepoint open; RELEASE then ends it.
      await db.run(sql`ROLLBACK TO drover_atomically`);
      await db.run(sql`RELEASE drover_atomically`);
    } catch {
      // As in inTransaction: the original error is the one worth reporting.
    }
    throw error;
  }
}
