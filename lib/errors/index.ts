/**
 * The one error type of Drover. Every module throws a DroverError with a code
 * from this closed set; the gRPC edge maps it to a Connect code and the REST
 * edge to the NxMesh error format. Nothing else throws strings.
 */
export const errorCodes = [
  "invalid_argument",
  "unauthenticated",
  "permission_denied",
  "not_found",
  "already_exists",
  "failed_precondition",
  "resource_exhausted",
  "unavailable",
  "deadline_exceeded",
  "internal",
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/** A field that failed validation, named by its path (e.g. `labels.zone`). */
export interface FieldViolation {
  field: string;
  message: string;
}

export interface DroverErrorOptions {
  details?: FieldViolation[];
  cause?: unknown;
}

export class DroverError extends Error {
  override readonly name = "DroverError";
  readonly code: ErrorCode;
  readonly details: FieldViolation[];

  constructor(code: ErrorCode, message: string, options: DroverErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? [];
  }
}

export function isDroverError(value: unknown): value is DroverError {
  return value instanceof DroverError;
}

/** Shorthand for the most common rejection: one field, one reason. */
export function invalidField(field: string, message: string): DroverError {
  return new DroverError("invalid_argument", `${field}: ${message}`, {
    details: [{ field, message }],
  });
}
