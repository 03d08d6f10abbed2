import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import { type ErrorCode, isDroverError } from "../errors/index.ts";

/** The NxMesh error format: `{ error: { code, message, request_id, details[] } }`. */
export interface ErrorDetail {
  field: string;
  message: string;
  code: string;
}

type HttpError = {
  status: 401 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 500 | 503;
  code: string;
};

const httpErrors: Record<ErrorCode, HttpError> = {
  invalid_argument: { status: 422, code: "VALIDATION_ERROR" },
  unauthenticated: { status: 401, code: "UNAUTHORIZED" },
  permission_denied: { status: 403, code: "FORBIDDEN" },
  not_found: { status: 404, code: "NOT_FOUND" },
  already_exists: { status: 409, code: "CONFLICT" },
  failed_precondition: { status: 409, code: "CONFLICT" },
  resource_exhausted: { status: 429, code: "RATE_LIMITED" },
  unavailable: { status: 503, code: "SERVICE_UNAVAILABLE" },
  deadline_exceeded: { status: 503, code: "SERVICE_UNAVAILABLE" },
  internal: { status: 500, code: "INTERNAL_ERROR" },
};

/** The HTTP status and NxMesh code a DroverError code answers with (REST and WebSocket alike). */
export const httpErrorFor = (code: ErrorCode): HttpError => httpErrors[code];

/** Refusals of the request's framing, before any handler: not failures of ours, never logged. */
export const payloadTooLarge = { status: 413, code: "PAYLOAD_TOO_LARGE" } as const;
export const unsupportedMediaType = { status: 415, code: "UNSUPPORTED_MEDIA_TYPE" } as const;

/** The `error` object of the NxMesh format, for this request. */
export function errorObject(
  c: Context,
  error: { code: string; message: string; details?: ErrorDetail[] },
) {
  return {
    code: error.code,
    message: error.message,
    request_id: c.get("requestId") ?? "",
    details: error.details ?? [],
  };
}

export function errorResponse(
  c: Context,
  error: HttpError & { message: string; details?: ErrorDetail[] },
): Response {
  return c.json({ error: errorObject(c, error) }, error.status);
}

/** Every zod issue becomes a detail with its field path; unknown fields are named one by one. */
export function validationDetails(error: ZodError): ErrorDetail[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        field: base ? `${base}.${key}` : key,
        message: "unknown field",
        code: "UNKNOWN_FIELD",
      }));
    }
    return [{ field: base || "body", message: issue.message, code: "INVALID_FORMAT" }];
  });
}

export function validationError(c: Context, error: ZodError): Response {
  return errorResponse(c, {
    ...httpErrors.invalid_argument,
    message: "Request validation failed",
    details: validationDetails(error),
  });
}

/** Maps anything thrown below the edge; unknown errors are logged and stay opaque. */
export function respondToError(
  c: Context,
  error: unknown,
  log: (error: unknown) => void,
): Response {
  if (isDroverError(error)) {
    return errorResponse(c, {
      ...httpErrors[error.code],
      message: error.message,
      details: error.details.map((detail) => ({ ...detail, code: "INVALID_FORMAT" })),
    });
  }
  // Hono's own body parsing refuses malformed JSON with a 400; it is a validation failure.
  if (error instanceof HTTPException && error.status === 400) {
    return errorResponse(c, {
      ...httpErrors.invalid_argument,
      message: error.message || "malformed request body",
      details: [{ field: "body", message: "is not valid JSON", code: "INVALID_FORMAT" }],
    });
  }
  // zod-openapi refuses a body that is not of the route's media type with a 415.
  if (error instanceof HTTPException && error.status === 415) {
    return errorResponse(c, {
      ...unsupportedMediaType,
      message: "send the body as application/json",
    });
  }
  log(error);
  return errorResponse(c, { ...httpErrors.internal, message: "internal error" });
}
