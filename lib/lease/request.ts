import { invalidField } from "../errors/index.ts";
import { formatSelector, parseSelector, type Selector } from "../selector/index.ts";
import { MAX_LEASE_DURATION_MS, MAX_PRIORITY, MIN_PRIORITY } from "./limits.ts";
import type { LeaseRequest } from "./types.ts";

/** A request checked and reduced to what the engine stores. */
export interface ValidRequest {
  workspaceId: string;
  selector: Selector;
  durationMs: number;
  notBefore?: Date;
  priority: number;
}

/**
 * Refuses a selector that is not what parseSelector would produce (hand-built
 * terms from gRPC or JSON), naming `field`. Round-tripping through the text
 * form checks keys, values and operators with the one grammar.
 */
export function checkSelector(selector: Selector, field: string): void {
  if (!Array.isArray(selector)) throw invalidField(field, "must be a list of terms");
  for (const term of selector) {
    const ok =
      typeof term === "object" &&
      term !== null &&
      ["=", "!=", "exists", "!exists"].includes(term.op) &&
      (term.op === "=" || term.op === "!=") === (typeof term.value === "string");
    if (!ok)
      throw invalidField(field, "each term needs a key, an operator and (for = and !=) a value");
  }
  try {
    parseSelector(formatSelector(selector));
  } catch (error) {
    throw invalidField(field, error instanceof Error ? error.message : String(error));
  }
}

function validDate(field: string, value: Date | undefined): Date | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw invalidField(field, "must be a valid time");
  }
  return value;
}

/**
 * Checks a lease request: a duration, or a window (begin time optional, end
 * time required); a duration beside a window must equal it. Nothing is stored
 * for a refused request.
 */
export function validateLeaseRequest(request: LeaseRequest, now: Date): ValidRequest {
  if (typeof request.workspaceId !== "string" || request.workspaceId === "") {
    throw invalidField("workspace_id", "required");
  }
  checkSelector(request.selector, "selector");
  const begin = validDate("begin_time", request.beginTime);
  const end = validDate("end_time", request.endTime);
  if (begin !== undefined && end === undefined) {
    throw invalidField("end_time", "required with begin_time");
  }
  let durationMs = request.durationMs;
  if (durationMs !== undefined && (!Number.isInteger(durationMs) || durationMs <= 0)) {
    throw invalidField("duration", "must be a positive whole number of milliseconds");
  }
  let notBefore: Date | undefined;
  if (end !== undefined) {
    const from = begin ?? now;
    const windowMs = end.getTime() - Math.max(from.getTime(), now.getTime());
    if (windowMs <= 0) throw invalidField("end_time", "must be after the begin time and now");
    if (durationMs !== undefined && durationMs !== end.getTime() - from.getTime()) {
      throw invalidField(
        "duration",
        "disagrees with begin_time and end_time; give one or the other",
      );
    }
    durationMs = windowMs;
    if (begin !== undefined && begin.getTime() > now.getTime()) notBefore = begin;
  }
  if (durationMs === undefined)
    throw invalidField("duration", "a duration or an end_time is required");
  if (durationMs > MAX_LEASE_DURATION_MS) throw invalidField("duration", "must be at most 30 days");
  const priority = request.priority ?? 0;
  if (!Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
    throw invalidField("priority", `must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}`);
  }
  return {
    workspaceId: request.workspaceId,
    selector: request.selector,
    durationMs,
    ...(notBefore ? { notBefore } : {}),
    priority,
  };
}
