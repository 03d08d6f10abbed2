import { type Column, type SQL, sql } from "drizzle-orm";

/**
 * `column IN (values)` with the list bound as one JSON parameter: no limit on
 * its length (SQLite caps bound parameters), and [] simply matches nothing.
 */
export function inList(column: Column, values: readonly string[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
}
