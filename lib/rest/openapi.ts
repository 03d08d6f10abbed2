import { z } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import { ErrorBody, PageMeta } from "./schemas.ts";

/** Small builders for route definitions, so each route states only what is its own. */

export function json<T extends ZodType>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

/** A JSON request body; an optional one may be left out entirely. */
export function jsonBody<T extends ZodType>(schema: T, required = true) {
  return { body: { content: { "application/json": { schema } }, required } };
}

export function pageOf<T extends ZodType>(item: T) {
  return z.object({ data: z.array(item), meta: PageMeta });
}

export function idParams<K extends string>(name: K) {
  return z.strictObject({ [name]: z.string().min(1).max(64) } as Record<K, z.ZodString>);
}

const error = (description: string) => json(ErrorBody, description);

/** The failures every authenticated route can answer with. */
export const errorResponses = {
  401: error("Missing or invalid credentials"),
  403: error("The role does not allow this"),
  404: error("Not found, or not visible to the caller"),
  409: error("Conflicts with an existing object"),
  422: error("Request validation failed"),
  429: error("Rate limited; see Retry-After"),
};

export const noContent = { 204: { description: "Done" } };
