import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { LeaseView } from "../../lease/index.ts";
import type { RestEnv } from "../env.ts";
import {
  LeaseExtendBody,
  LeaseJson,
  LeaseListQuery,
  LeasePolicies,
  LeaseReleaseBody,
  LeaseRequestBody,
  leaseExtensionOf,
  leaseJson,
  leaseRequestOf,
  policiesJson,
  policiesOf,
} from "../lease-schemas.ts";
import { type ApiTag, errorResponses, idParams, json, jsonBody, pageOf } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { pageMeta } from "../schemas.ts";

const tags: ApiTag[] = ["Leases"];
const workspaceParams = idParams("workspace_id");
const leaseParams = z.strictObject({
  name: z.string().min(1).max(64).openapi({ example: "lease-0123456789abcdef" }),
});

/** Without a phase filter, ended leases are listed for this long after they end. */
const RECENTLY_ENDED_MS = 24 * 3_600_000;

const phaseRank = { Pending: 0, Ready: 1, Ended: 2 } as const;
const at = (date: Date | undefined) => date?.getTime() ?? 0;

/** The queue as people read it: pending in service order, then held by grant time, then ended, newest first. */
function queueOrder(a: LeaseView, b: LeaseView): number {
  const byPhase = phaseRank[a.phase] - phaseRank[b.phase];
  if (byPhase !== 0) return byPhase;
  if (a.phase === "Pending") return (a.queuePosition ?? 0) - (b.queuePosition ?? 0);
  if (a.phase === "Ready") return at(a.beginTime) - at(b.beginTime) || a.sequence - b.sequence;
  return at(b.endedAt) - at(a.endedAt) || b.sequence - a.sequence;
}

/**
 * Leases over REST: request, the workspace's queue, get, extend, release,
 * and the workspace's lease policies. lib/lease authorizes and decides;
 * this edge parses durations and selectors, naming the field it refuses.
 */
export function leaseRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const { leases } = deps;
  const clock = deps.sessions.clock;
  app.openapi(
    createRoute({
      method: "get",
      path: "/workspaces/{workspace_id}/leases",
      operationId: "listLeases",
      tags,
      summary: "List a workspace's lease queue",
      description:
        "Pending leases first, in the order they will be served (priority, then request time), each with its `queue_position` and the reason it waits; then the leases held now; then those that ended in the last 24 hours, newest first. `phase` keeps one phase (`Ended`: every ended lease).",
      request: { params: workspaceParams, query: LeaseListQuery },
      responses: { 200: json(pageOf(LeaseJson), "A page of leases"), ...errorResponses },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const all = await leases.list(c.get("principal"), {
        workspaceId: c.req.valid("param").workspace_id,
      });
      const since = clock.now().getTime() - RECENTLY_ENDED_MS;
      const shown = all
        .filter((lease) =>
          query.phase === undefined
            ? lease.phase !== "Ended" || at(lease.endedAt) >= since
            : lease.phase === query.phase,
        )
        .sort(queueOrder);
      const start = (query.page - 1) * query.per_page;
      return c.json(
        {
          data: shown.slice(start, start + query.per_page).map(leaseJson),
          meta: pageMeta(query, shown.length),
        },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/workspaces/{workspace_id}/leases",
      operationId: "requestLease",
      tags,
      summary: "Request a lease on one of the workspace's exporters",
      description:
        "Joins the queue: the answer is Ready at once when a matching exporter is free, Pending (with the reason and `queue_position`) otherwise, or Ended when no exporter can ever satisfy it (`NoMatch`, `NoAccess`, `DurationExceedsPolicy`, with an `Unsatisfiable` condition). Give `duration`, or a window (`end_time`, with `begin_time` for a later start). A refused request (422 naming the field) stores nothing.",
      request: { params: workspaceParams, ...jsonBody(LeaseRequestBody) },
      responses: { 201: json(LeaseJson, "The lease"), ...errorResponses },
    }),
    async (c) => {
      const request = leaseRequestOf(c.req.valid("param").workspace_id, c.req.valid("json"));
      return c.json(leaseJson(await leases.request(c.get("principal"), request)), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/leases/{name}",
      operationId: "getLease",
      tags,
      summary: "Get a lease",
      description:
        "Its phase and reason, its place in the queue while pending, its exporter, fencing token and end time once granted, and its conditions.",
      request: { params: leaseParams },
      responses: { 200: json(LeaseJson, "The lease"), ...errorResponses },
    }),
    async (c) =>
      c.json(leaseJson(await leases.get(c.get("principal"), c.req.valid("param").name)), 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/leases/{name}/extend",
      operationId: "extendLease",
      tags,
      summary: "Extend a held lease",
      description:
        "Exactly one of `by` (added to the current end) and `from_now` (the end becomes now + it; never earlier than the current end). Capped by the lease policy from the lease's begin time; only a Ready lease is extended (409 otherwise). The holder or an admin.",
      request: { params: leaseParams, ...jsonBody(LeaseExtendBody) },
      responses: { 200: json(LeaseJson, "The extended lease"), ...errorResponses },
    }),
    async (c) => {
      const extension = leaseExtensionOf(c.req.valid("json"));
      const lease = await leases.extend(c.get("principal"), c.req.valid("param").name, extension);
      return c.json(leaseJson(lease), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/leases/{name}/release",
      operationId: "releaseLease",
      tags,
      summary: "Release a lease",
      description:
        "The holder's release (reason `Released`), or an admin's force release (`ForceReleased`), which names the holder it expects in `expected_client`: a different holder, or none named, is 409 and nothing changes. A pending lease leaves the queue; a held one frees its exporter after its afterLease hook.",
      request: { params: leaseParams, ...jsonBody(LeaseReleaseBody, false) },
      responses: { 200: json(LeaseJson, "The ended lease"), ...errorResponses },
    }),
    async (c) => {
      const expected = c.req.valid("json")?.expected_client;
      const lease = await leases.release(c.get("principal"), c.req.valid("param").name, expected);
      return c.json(leaseJson(lease), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/workspaces/{workspace_id}/lease-policies",
      operationId: "getLeasePolicies",
      tags,
      summary: "Get the workspace's lease policies",
      description:
        "Who may lease which exporters, for how long and at what priority; the default policy when none are stored. Every member may read them.",
      request: { params: workspaceParams },
      responses: { 200: json(LeasePolicies, "The policies in force"), ...errorResponses },
    }),
    async (c) => {
      const policies = await leases.listPolicies(
        c.get("principal"),
        c.req.valid("param").workspace_id,
      );
      return c.json(policiesJson(policies), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/workspaces/{workspace_id}/lease-policies",
      operationId: "setLeasePolicies",
      tags,
      summary: "Replace the workspace's lease policies",
      description:
        "Replaces them as a whole; an empty list restores the default (admins and owners, any exporter, 24h, priority 0). Queued requests are judged again by the new policies. Needs an admin of the workspace's organization.",
      request: { params: workspaceParams, ...jsonBody(LeasePolicies) },
      responses: { 200: json(LeasePolicies, "The policies now in force"), ...errorResponses },
    }),
    async (c) => {
      const policies = policiesOf(c.req.valid("json"));
      const stored = await leases.setPolicies(
        c.get("principal"),
        c.req.valid("param").workspace_id,
        policies,
      );
      return c.json(policiesJson(stored), 200);
    },
  );
}
