import type { OpenedDriver } from "./db.ts";
import { openBunSqlite } from "./driver-bun.ts";
import { openLibsql } from "./driver-libsql.ts";

export function isBun(): boolean {
  return typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
}

/** Picks the SQLite driver for the running runtime; same schema either way. */
export function openDriver(path: string): Promise<OpenedDriver> {
  return isBun() ? openBunSqlite(path) : openLibsql(path);
}
