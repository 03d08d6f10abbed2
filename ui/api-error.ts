/** One field's complaint, as the API names it (`servers.1.address`). */
export interface FieldError {
  field: string;
  message: string;
}

/** An API failure in the NxMesh error format, or a stand-in when the answer was not one. */
export interface ApiProblem {
  status: number;
  code: string;
  message: string;
  details: FieldError[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads `{error:{code,message,request_id,details[]}}`; anything else becomes a generic problem. */
export function parseApiError(status: number, body: unknown): ApiProblem {
  const error = isRecord(body) ? body.error : undefined;
  if (!isRecord(error)) {
    return {
      status,
      code: status === 0 ? "NETWORK_ERROR" : "HTTP_ERROR",
      message: `request failed (HTTP ${status})`,
      details: [],
    };
  }
  const details = Array.isArray(error.details) ? error.details : [];
  return {
    status,
    code: typeof error.code === "string" ? error.code : "HTTP_ERROR",
    message: typeof error.message === "string" ? error.message : `request failed (HTTP ${status})`,
    details: details.filter(isRecord).map((detail) => ({
      field: typeof detail.field === "string" ? detail.field : "",
      message: typeof detail.message === "string" ? detail.message : "is invalid",
    })),
  };
}

/**
 * Splits field errors between the form's fields: a detail belongs to the first field name
 * that equals its path or prefixes it (`servers` takes `servers.1.address`); the rest are general.
 */
export function fieldErrors(
  details: readonly FieldError[],
  fields: Readonly<Record<string, readonly string[]>>,
): { byField: Record<string, string[]>; general: string[] } {
  const byField: Record<string, string[]> = {};
  const general: string[] = [];
  for (const detail of details) {
    const owner = Object.entries(fields).find(([, paths]) =>
      paths.some((path) => detail.field === path || detail.field.startsWith(`${path}.`)),
    )?.[0];
    if (owner) byField[owner] = [...(byField[owner] ?? []), detail.message];
    else general.push(detail.field ? `${detail.field}: ${detail.message}` : detail.message);
  }
  return { byField, general };
}

/** A cookie's value from `document.cookie`'s text. */
export function cookieValue(cookies: string, name: string): string | undefined {
  for (const part of cookies.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return undefined;
}

/**
 * What a form shows for a failed submit: errors beside their fields, and one alert that
 * either names what no field holds or points at the fields (the message repeats them).
 */
export function formProblem(
  problem: ApiProblem,
  fields: Readonly<Record<string, readonly string[]>>,
): { byField: Record<string, string[]>; general: string[] } {
  const split = fieldErrors(problem.details, fields);
  if (split.general.length > 0) return split;
  const placed = Object.keys(split.byField).length > 0;
  return {
    byField: split.byField,
    general: [
      placed ? "Some fields need attention: see the messages beside them." : problem.message,
    ],
  };
}
