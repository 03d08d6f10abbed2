import { MEMORY_PATH, type OpenedDriver, type StoreDb } from "./db.ts";
import { applyPragmas } from "./pragmas.ts";

/**
 * Runtime seam, Bun side. The dynamic import keeps `bun:sqlite` out of the
 * module graph on Node and Deno; `bun build --compile` embeds this driver.
 */
export async function openBunSqlite(path: string, configure = true): Promise<OpenedDriver> {
  const { drizzle } = await import("drizzle-orm/bun-sqlite");
  // The string form opens read-write, creating the file if needed.
  const opened = drizzle<Record<string, never>>(path);
  // The sync-kind database is awaited like the async kind; see StoreDb.
  const db = opened as unknown as StoreDb;
  if (configure) await applyPragmas(db, path === MEMORY_PATH);
  return {
    db,
    driver: "bun-sqlite",
    close: async () => opened.$client.close(),
  };
}
