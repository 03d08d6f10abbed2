import { and, type Column, eq, type SQL, sql } from "drizzle-orm";
import type { WorkspaceScopeFilter } from "./types.ts";

/**
 * `column IN (values)` with the list bound as one JSON parameter: no limit on
 * its length (SQLite caps bound parameters), and [] simply matches nothing.
 */
export function inList(column: Column, values: readonly string[]): SQL {
  return sql`${column} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`;
}

/** A workspace's configuration objects by their workspace column; no workspaceId: all. */
export function inWorkspace(column: Column): (filter?: WorkspaceScopeFilter) => SQL | undefined {
  return ({ workspaceId } = {}) =>
    and(workspaceId === undefined ? undefined : eq(column, workspaceId));
}
