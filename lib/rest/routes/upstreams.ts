import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import {
  createUpstream,
  deleteUpstream,
  getUpstream,
  listUpstreams,
  updateUpstream,
} from "../../tenancy/index.ts";
import {
  Upstream,
  UpstreamCreate,
  UpstreamPatch,
  upstreamInput,
  upstreamJson,
  upstreamPatchInput,
} from "../config-schemas.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, idParams, json, jsonBody, noContent } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { pagedChildListRoute } from "./paged.ts";

const tags: ApiTag[] = ["Upstreams"];
const workspaceParams = idParams("workspace_id");
const upstreamParams = idParams("upstream_id");

export function upstreamRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const tenancy = deps.fleet.deps;
  pagedChildListRoute(app, {
    path: "/workspaces/{workspace_id}/upstreams",
    operationId: "listUpstreams",
    tags,
    summary: "List a workspace's upstreams",
    description: "Pages through a workspace's upstreams.",
    idParam: "workspace_id",
    item: Upstream,
    pageDescription: "A page of upstreams",
    list: (principal, workspaceId, page) => listUpstreams(tenancy, principal, workspaceId, page),
    toJson: upstreamJson,
  });
  app.openapi(
    createRoute({
      method: "post",
      path: "/workspaces/{workspace_id}/upstreams",
      operationId: "createUpstream",
      tags,
      summary: "Create an upstream",
      description: "An upstream is a load-balanced group of servers that virtual hosts proxy to.",
      request: { params: workspaceParams, ...jsonBody(UpstreamCreate) },
      responses: { 201: json(Upstream, "Created"), ...errorResponses },
    }),
    async (c) => {
      const created = await createUpstream(
        tenancy,
        c.get("principal"),
        c.req.valid("param").workspace_id,
        upstreamInput(c.req.valid("json")),
      );
      return c.json(upstreamJson(created), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/upstreams/{upstream_id}",
      operationId: "getUpstream",
      tags,
      summary: "Get an upstream",
      description: "An upstream the caller cannot see answers 404.",
      request: { params: upstreamParams },
      responses: { 200: json(Upstream, "The upstream"), ...errorResponses },
    }),
    async (c) =>
      c.json(
        upstreamJson(
          await getUpstream(tenancy, c.get("principal"), c.req.valid("param").upstream_id),
        ),
        200,
      ),
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/upstreams/{upstream_id}",
      operationId: "updateUpstream",
      tags,
      summary: "Change an upstream",
      description:
        "Given fields replace the stored ones; agents serving virtual hosts that use it get the new configuration.",
      request: { params: upstreamParams, ...jsonBody(UpstreamPatch) },
      responses: { 200: json(Upstream, "Updated"), ...errorResponses },
    }),
    async (c) => {
      const updated = await updateUpstream(
        tenancy,
        c.get("principal"),
        c.req.valid("param").upstream_id,
        upstreamPatchInput(c.req.valid("json")),
      );
      return c.json(upstreamJson(updated), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/upstreams/{upstream_id}",
      operationId: "deleteUpstream",
      tags,
      summary: "Delete an upstream",
      description: "Refused with 409 while a virtual host uses it.",
      request: { params: upstreamParams },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      await deleteUpstream(tenancy, c.get("principal"), c.req.valid("param").upstream_id);
      return c.body(null, 204);
    },
  );
}
