import { eq, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { StoreDb } from "./db.ts";
import { prepared } from "./prepared.ts";
import { notFound } from "./validate.ts";

/** A table keyed by a column named id (text in every table that has one). */
export type IdTable = SQLiteTable & { id: SQLiteColumn };

/** The one row matching where (a unique key), or null. */
export async function rowWhere<T extends SQLiteTable>(
  db: StoreDb,
  table: T,
  where: SQL,
): Promise<T["$inferSelect"] | null> {
  const [row] = await db.select().from(table).where(where);
  return row ?? null;
}

/** The one row whose unique `column` equals `value`, or null; the query is prepared once. */
export async function rowByKey<T extends SQLiteTable>(
  db: StoreDb,
  table: T,
  column: SQLiteColumn,
  value: string,
): Promise<T["$inferSelect"] | null> {
  const query = prepared(db, column, () =>
    db
      .select()
      .from(table)
      .where(eq(column, sql.placeholder("value")))
      .prepare(),
  );
  const [row] = await query.execute({ value });
  return (row as T["$inferSelect"] | undefined) ?? null;
}

export function rowById<T extends IdTable>(
  db: StoreDb,
  table: T,
  id: string,
): Promise<T["$inferSelect"] | null> {
  return rowByKey(db, table, table.id, id);
}

/**
 * UPDATE … RETURNING the row with this id, or not_found naming it as `what`.
 * drizzle leaves undefined values out of SET, so a patch's absent fields stay.
 */
export async function updateById<T extends IdTable>(
  db: StoreDb,
  table: T,
  id: string,
  values: Partial<T["$inferInsert"]>,
  what: string,
): Promise<T["$inferSelect"]> {
  const [row] = await db.update(table).set(values).where(eq(table.id, id)).returning();
  if (row === undefined) throw notFound(what, id);
  return row;
}

/** Whether a row was there to delete: RETURNING, since `db.run` results differ by driver. */
export async function deleteById(db: StoreDb, table: IdTable, id: string): Promise<boolean> {
  const rows = await db.delete(table).where(eq(table.id, id)).returning({ id: table.id });
  return rows.length > 0;
}
