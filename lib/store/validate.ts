import { DroverError, invalidField } from "../errors/index.ts";

/** Page sizes reach SQL LIMIT, where a negative number means "no limit". */
export function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 0) {
    throw invalidField("limit", "must be a non-negative integer");
  }
}

export function checkOffset(offset: number): void {
  if (!Number.isInteger(offset) || offset < 0) {
    throw invalidField("offset", "must be a non-negative integer");
  }
}

/** Names, slugs, hashes: the static type does not rule out "" or a non-string. */
export function checkText(field: string, value: unknown): void {
  if (typeof value !== "string" || value === "") {
    throw invalidField(field, "must be a non-empty string");
  }
}

/** An id-list filter: undefined means no filter, [] matches nothing. */
export function checkIds(field: string, ids: unknown): void {
  if (ids !== undefined && (!Array.isArray(ids) || !ids.every((id) => typeof id === "string"))) {
    throw invalidField(field, "must be an array of strings");
  }
}

export function checkDate(field: string, value: Date): void {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw invalidField(field, "must be a valid date");
  }
}

export function notFound(what: string, id: string): DroverError {
  return new DroverError("not_found", `${what} ${id} not found`);
}

export function alreadyExists(what: string, id: string): DroverError {
  return new DroverError("already_exists", `${what} ${id} already exists`);
}

/** The row an INSERT … RETURNING must produce. */
export function returned<T>(rows: T[]): T {
  const [row] = rows;
  if (row === undefined) throw new DroverError("internal", "store: write returned no row");
  return row;
}

/**
 * drizzle inspects each bound value's prototype, and throws on objects made
 * with Object.create(null) (common for parsed or generated label maps); a
 * shallow copy gives them one. Nested values go through JSON.stringify as-is.
 */
export function plain<T>(value: T): T {
  return value !== null && typeof value === "object" && Object.getPrototypeOf(value) === null
    ? ({ ...value } as T)
    : value;
}
