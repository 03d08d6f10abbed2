import { z } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import { droverVersion } from "../version.ts";
import { ErrorBody, PageMeta } from "./schemas.ts";

/** The tags every operation is filed under, in the order the reference shows them. */
export const apiTags = [
  { name: "Auth", description: "Log in, refresh the session, change the password." },
  {
    name: "Organizations",
    description: "The top of the tenancy tree: organizations own workspaces.",
  },
  {
    name: "Members",
    description: "People and their roles: an organization's members, and every user of the fleet.",
  },
  {
    name: "Workspaces",
    description: "Workspaces hold agents, virtual hosts, upstreams and certificates.",
  },
  {
    name: "Agents",
    description: "Machines that joined the fleet: registration tokens, health, commands.",
  },
  {
    name: "Node functions",
    description:
      "Fresh system metrics, a health round trip, and the commands, logs and GPIO lines an agent's own config declares.",
  },
  {
    name: "Exporters",
    description:
      "Agents that share hardware (drover agent --exporter): their drivers, status and holder.",
  },
  {
    name: "Leases",
    description:
      "Exclusive, fenced leases on exporters: the fair queue, request, extend, release, and the policies that bound them.",
  },
  { name: "Virtual hosts", description: "Sites served by the agents' nginx." },
  { name: "Upstreams", description: "Backend pools the virtual hosts proxy to." },
  { name: "Certificates", description: "TLS certificates of virtual hosts: internal CA or ACME." },
  { name: "Files", description: "Files delivered to agents beside their nginx configuration." },
  { name: "Traffic", description: "Metrics and access logs reported by the agents." },
  {
    name: "Observability",
    description: "Open alerts, the event history and configuration rollout.",
  },
] as const;

export type ApiTag = (typeof apiTags)[number]["name"];

/** Either scheme: a bearer token (API clients) or the session cookie (the web UI). */
const security: Record<string, string[]>[] = [{ bearer: [] }, { cookie: [] }];

/** The document-level fields of /v1/openapi.json; the paths come from the routes. */
export const openApiDocumentConfig = {
  openapi: "3.0.3",
  info: {
    title: "Drover REST API",
    version: droverVersion,
    description:
      "The REST API of a Drover control plane: tenancy, agents, nginx configuration and " +
      "traffic. Log in with `POST /v1/auth/login` and send " +
      "`Authorization: Bearer <access_token>` (a browser signs in with `POST /v1/auth/session` " +
      "and sends cookies instead); errors use one format (`ErrorBody`).",
    contact: { name: "Drover maintainers" },
    license: { name: "Apache-2.0" },
  },
  servers: [{ url: "/v1", description: "This control plane" }],
  security,
  tags: [...apiTags],
};

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
