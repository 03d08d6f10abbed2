import { type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { StoreDb } from "./db.ts";

const byConnection = new WeakMap<StoreDb, WeakMap<object, unknown>>();

/**
 * A query built and prepared once per connection, keyed by `key` (an object
 * of the call site: a table, a column). drizzle builds a query's SQL afresh on
 * every call, which for the short lookups and inserts of an agent's session
 * cost more than SQLite took to run them (issue 13's admission profile).
 * Values go in through `sql.placeholder`.
 */
export function prepared<Q>(db: StoreDb, key: object, build: () => Q): Q {
  let queries = byConnection.get(db);
  if (queries === undefined) {
    queries = new WeakMap();
    byConnection.set(db, queries);
  }
  let query = queries.get(key) as Q | undefined;
  if (query === undefined) {
    query = build();
    queries.set(key, query);
  }
  return query;
}

/**
 * A value given when the prepared query runs, encoded as `column` encodes it
 * (JSON, timestamps); for `.set()`, whose types take no bare placeholder.
 */
export const bound = (name: string, column: SQLiteColumn): SQL =>
  sql`${sql.param(sql.placeholder(name), column)}`;
