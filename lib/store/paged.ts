import { asc, count, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { type IdTable, rowById } from "./by-id.ts";
import type { Runner } from "./runner.ts";
import type { PagedReads } from "./types.ts";
import { checkLimit, checkOffset } from "./validate.ts";

/** A table listed in creation order. */
export type CreationOrderedTable = IdTable & { createdAt: SQLiteColumn };

/** created_at, then id: rows made in the same millisecond still have one order. */
export function creationOrder(table: CreationOrderedTable): SQL[] {
  return [asc(table.createdAt), asc(table.id)];
}

/**
 * get, list and count over one table, for the repositories whose lists are
 * pages in creation order. `where` gets list's whole options (limit and offset
 * included: a filter reads only its own fields), after the page is checked.
 */
export function pagedReads<T extends CreationOrderedTable, F>(
  run: Runner,
  table: T,
  where: (filter?: F) => SQL | undefined,
): PagedReads<T["$inferSelect"], F> {
  return {
    get: (id) => run((db) => rowById(db, table, id)),

    list: (options) =>
      run(async (db) => {
        checkLimit(options.limit);
        checkOffset(options.offset);
        return db
          .select()
          .from(table)
          .where(where(options))
          .orderBy(...creationOrder(table))
          .limit(options.limit)
          .offset(options.offset);
      }),

    count: (filter) =>
      run(async (db) => {
        const [row] = await db.select({ n: count() }).from(table).where(where(filter));
        return row?.n ?? 0;
      }),
  };
}
