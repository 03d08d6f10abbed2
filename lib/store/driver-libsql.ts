import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { MEMORY_PATH, type OpenedDriver, type StoreDb } from "./db.ts";
import { applyPragmas } from "./pragmas.ts";

/**
 * Runtime seam, Node and Deno side. The dynamic import keeps @libsql/client
 * (and its native addon) from loading in the compiled Bun binary.
 *
 * The local libsql client keeps one connection and runs `execute()` on it, so
 * BEGIN IMMEDIATE … COMMIT issued through drizzle spans the statements between
 * (checked by store.test.ts). Its own `client.transaction()` is deliberately
 * not used: it detaches the connection and would lose a `:memory:` database.
 */
export async function openLibsql(path: string, configure = true): Promise<OpenedDriver> {
  const { drizzle } = await import("drizzle-orm/libsql");
  const url = path === MEMORY_PATH ? MEMORY_PATH : pathToFileURL(resolve(path)).href;
  const opened = drizzle({ connection: { url } });
  const db: StoreDb = opened;
  if (configure) await applyPragmas(db, path === MEMORY_PATH);
  return {
    db,
    driver: "libsql",
    close: async () => opened.$client.close(),
  };
}
