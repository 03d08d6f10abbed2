import { createLru } from "../cache/index.ts";
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
  cacheStatements(opened.$client);
  // The sync-kind database is awaited like the async kind; see StoreDb.
  const db = opened as unknown as StoreDb;
  if (configure) await applyPragmas(db, path === MEMORY_PATH);
  return {
    db,
    driver: "bun-sqlite",
    close: async () => opened.$client.close(),
  };
}

/**
 * drizzle compiles every query afresh (`prepare` was the largest single cost
 * of a config fan-out's profile, 9 % of all CPU). Its queries are few and
 * repeat, so the compiled statement is kept per SQL text, in a bounded
 * least-recently-used map (lists of `IN (?, …)` of every length must not grow
 * it without end). bun:sqlite runs a statement synchronously from bind to
 * result, so one compiled statement is never used by two queries at once.
 * An evicted statement is left to the garbage collector, not finalized: a
 * caller may still hold it for the run it just prepared it for.
 */
function cacheStatements(client: { prepare(sql: string, ...bindings: unknown[]): unknown }): void {
  const prepare = client.prepare.bind(client);
  const cache = createLru<string, unknown>(256);
  client.prepare = (sql: string, ...bindings: unknown[]) => {
    // A statement prepared with bindings is the caller's own.
    if (bindings.length > 0) return prepare(sql, ...bindings);
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}
