/**
 * Configuration objects named uniquely within their workspace (upstreams,
 * virtual hosts, agent files): their insert and update, with constraint
 * failures said the way a caller can act on them.
 */

import { DroverError } from "../errors/index.ts";
import { type IdTable, rowById, updateById } from "./by-id.ts";
import type { StoreDb } from "./db.ts";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.ts";
import { alreadyExists, checkText, returned } from "./validate.ts";

/** A table of such objects; the row type says so, for the messages naming the workspace. */
export type NamedTable = IdTable & { $inferSelect: { workspaceId: string } };

/** What a new row has besides its patchable fields. */
interface NewNamed {
  id: string;
  workspaceId: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface NamedKind<T extends NamedTable, Patch> {
  table: T;
  /** How messages call one, e.g. "virtual host". */
  what: string;
  /** The (workspace_id, name) key as SQLite names it in a violation. */
  nameKey: string;
  /** invalid_argument for a bad field of a patch, or of a new row. */
  check(patch: Patch): void;
  /**
   * The patchable columns, copied one by one (the static type is not a
   * runtime guarantee); not the workspace: an update never moves an object.
   */
  columns(patch: Patch): Partial<T["$inferInsert"]>;
  /** Other keys unique per workspace, e.g. a file's path: said like the name when taken. */
  alsoUnique?: UniqueField<Patch>[];
}

/** A (workspace_id, column) key besides the name. */
export interface UniqueField<Patch> {
  /** The key as SQLite names it in a violation. */
  key: string;
  /** How messages call the column, e.g. "path". */
  label: string;
  value(patch: Patch): string | undefined;
}

/** The foreign key violation's meaning, from what the caller knows it references. */
type Missing = () => DroverError | Promise<DroverError>;

export interface NamedWrites<Row, Patch> {
  insert<New extends NewNamed & Patch>(db: StoreDb, row: New, missing: Missing): Promise<Row>;
  /** Without `missing`, a foreign key violation is not expected and passes through. */
  update(db: StoreDb, id: string, patch: Patch, at: Date, missing?: Missing): Promise<Row>;
}

/** already_exists naming the value taken, or undefined when the violation is of no such key. */
function keyTaken<Patch extends { name?: string }>(
  error: unknown,
  kind: Pick<NamedKind<NamedTable, Patch>, "what" | "nameKey" | "alsoUnique">,
  patch: Patch,
): ((workspaceId: string | undefined) => DroverError) | undefined {
  const keys: UniqueField<Patch>[] = [
    { key: kind.nameKey, label: "name", value: (p) => p.name },
    ...(kind.alsoUnique ?? []),
  ];
  const taken = keys.find((field) => isUniqueViolation(error, field.key));
  const value = taken?.value(patch);
  if (taken === undefined || value === undefined) return undefined;
  const said = taken.label === "name" ? `named "${value}"` : `with ${taken.label} "${value}"`;
  return (workspaceId) => {
    const where = workspaceId === undefined ? "its workspace" : `workspace ${workspaceId}`;
    return new DroverError("already_exists", `${kind.what} ${said} already exists in ${where}`);
  };
}

export function namedInWorkspace<T extends NamedTable, Patch extends { name?: string }>(
  kind: NamedKind<T, Patch>,
): NamedWrites<T["$inferSelect"], Patch> {
  const { table, what, check, columns } = kind;
  return {
    async insert(db, row, missing) {
      checkText("id", row.id);
      checkText("workspaceId", row.workspaceId);
      check(row);
      const { id, workspaceId, createdAt, updatedAt } = row;
      // A new row has every patchable column, so with its keys and timestamps
      // these are all of the table's: TypeScript cannot follow that through T.
      const values = {
        id,
        workspaceId,
        ...columns(row),
        createdAt,
        updatedAt,
      } as T["$inferInsert"];
      try {
        return returned(await db.insert(table).values(values).returning());
      } catch (error) {
        const taken = keyTaken(error, kind, row);
        if (taken) throw taken(workspaceId);
        if (isUniqueViolation(error)) throw alreadyExists(what, id);
        if (isForeignKeyViolation(error)) throw await missing();
        throw error;
      }
    },

    async update(db, id, patch, at, missing) {
      check(patch);
      try {
        return await updateById(db, table, id, { ...columns(patch), updatedAt: at }, what);
      } catch (error) {
        const taken = keyTaken(error, kind, patch);
        // The workspace is only known from the row the update did not return.
        if (taken) throw taken((await rowById(db, table, id))?.workspaceId);
        if (missing !== undefined && isForeignKeyViolation(error)) throw await missing();
        throw error;
      }
    },
  };
}
