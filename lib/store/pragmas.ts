import { sql } from "drizzle-orm";
import type { StoreDb } from "./db.ts";

/**
 * Connection settings shared by both drivers. WAL lets readers in other
 * processes (backups, the CLI) proceed while the server writes; NORMAL is
 * durable across application crashes under WAL; busy_timeout absorbs lock
 * contention from those other processes instead of failing fast.
 */
export async function applyPragmas(db: StoreDb, inMemory: boolean): Promise<void> {
  if (!inMemory) await db.run(sql`PRAGMA journal_mode=WAL`);
  await db.run(sql`PRAGMA foreign_keys=ON`);
  await db.run(sql`PRAGMA busy_timeout=5000`);
  await db.run(sql`PRAGMA synchronous=NORMAL`);
}
