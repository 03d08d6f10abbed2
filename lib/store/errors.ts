import { DroverError } from "../errors/index.ts";

/** Messages and codes of an error and its causes (drizzle wraps driver errors). */
function* chain(error: unknown): Generator<{ message: string; code: string }> {
  let current = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    yield { message: current.message, code: typeof code === "string" ? code : "" };
    current = current.cause;
  }
}

// Anchored: drizzle's own wrapper message quotes the query and its parameters,
// which may contain anything. libsql prefixes the code, bun:sqlite does not.
const UNIQUE_MESSAGE = /^(?:SQLITE_CONSTRAINT_\w+: )?UNIQUE constraint failed: (.+)$/;
const FOREIGN_KEY_MESSAGE = /^(?:SQLITE_CONSTRAINT_\w+: )?FOREIGN KEY constraint failed$/;

/**
 * Whether error is a primary key or unique violation; with `columns` (as
 * SQLite names them, e.g. "users.email" or "workspaces.organization_id,
 * workspaces.slug"), only one of exactly that key, so a repository can say
 * which of a table's keys was taken.
 */
export function isUniqueViolation(error: unknown, columns?: string): boolean {
  for (const { message, code } of chain(error)) {
    const match = UNIQUE_MESSAGE.exec(message);
    if (match !== null) return columns === undefined || match[1] === columns;
    if (/^SQLITE_CONSTRAINT_(PRIMARYKEY|UNIQUE)$/.test(code)) return columns === undefined;
  }
  return false;
}

/** SQLite does not say which foreign key failed; callers know from the table. */
export function isForeignKeyViolation(error: unknown): boolean {
  for (const { message, code } of chain(error)) {
    if (code === "SQLITE_CONSTRAINT_FOREIGNKEY" || FOREIGN_KEY_MESSAGE.test(message)) return true;
  }
  return false;
}

/** SQLITE_BUSY: another connection holds the lock. */
export function isBusy(error: unknown): boolean {
  for (const { message, code } of chain(error)) {
    if (code.startsWith("SQLITE_BUSY") || /database is locked/.test(message)) return true;
  }
  return false;
}

/** SQLITE_NOTADB: the file is not an SQLite database. */
export function isNotADatabase(error: unknown): boolean {
  for (const { message, code } of chain(error)) {
    if (code === "SQLITE_NOTADB" || /file is not a database/.test(message)) return true;
  }
  return false;
}

/** Driver errors leave the store as DroverErrors; ours pass through untouched. */
export function toDroverError(error: unknown): DroverError {
  if (error instanceof DroverError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return isBusy(error)
    ? new DroverError("unavailable", `store busy: ${message}`, { cause: error })
    : new DroverError("internal", `store: ${message}`, { cause: error });
}
