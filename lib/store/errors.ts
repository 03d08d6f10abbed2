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

export function isUniqueViolation(error: unknown): boolean {
  for (const { message, code } of chain(error)) {
    if (
      /UNIQUE constraint failed/.test(message) ||
      /^SQLITE_CONSTRAINT_(PRIMARYKEY|UNIQUE)$/.test(code)
    ) {
      return true;
    }
  }
  return false;
}

function isBusy(error: unknown): boolean {
  for (const { message, code } of chain(error)) {
    if (code.startsWith("SQLITE_BUSY") || /database is locked/.test(message)) return true;
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
