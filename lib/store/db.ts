import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";

/**
 * The drizzle database both drivers are used through. bun-sqlite's database is
 * the "sync" kind, but its query builders are thenables too, so awaiting every
 * query gives one await-only code path; only results typed by TRunResult
 * (`db.run`) differ, which is why repositories use RETURNING instead.
 */
export type StoreDb = BaseSQLiteDatabase<"async", unknown>;

export type DriverName = "bun-sqlite" | "libsql";

/** What a runtime seam hands back: one connection, already configured. */
export interface OpenedDriver {
  readonly db: StoreDb;
  readonly driver: DriverName;
  close(): Promise<void>;
}

/** In-memory databases have no journal file; everything else gets WAL. */
export const MEMORY_PATH = ":memory:";
