import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import {
  createVirtualHost,
  deleteVirtualHost,
  getVirtualHost,
  listVirtualHosts,
  updateVirtualHost,
  virtualHostStatus,
} from "../../tenancy/index.ts";
import {
  VirtualHost,
  VirtualHostCreate,
  VirtualHostPatch,
  VirtualHostStatus,
  virtualHostInput,
  virtualHostJson,
  virtualHostPatchInput,
} from "../config-schemas.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, idParams, json, jsonBody, noContent } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { pagedChildListRoute } from "./paged.ts";

const tags: ApiTag[] = ["Virtual hosts"];
const workspaceParams = idParams("workspace_id");
const virtualHostParams = idParams("virtual_host_id");

export function virtualHostRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const tenancy = deps.fleet.deps;
  pagedChildListRoute(app, {
    path: "/workspaces/{workspace_id}/virtual-hosts",
    operationId: "listVirtualHosts",
    tags,
    summary: "List a workspace's virtual hosts",
    description: "Pages through a workspace's virtual hosts.",
    idParam: "workspace_id",
    item: VirtualHost,
    pageDescription: "A page of virtual hosts",
    list: (principal, workspaceId, page) => listVirtualHosts(tenancy, principal, workspaceId, page),
    toJson: virtualHostJson,
  });
  app.openapi(
    createRoute({
      method: "post",
      path: "/workspaces/{workspace_id}/virtual-hosts",
      operationId: "createVirtualHost",
      tags,
      summary: "Create a virtual host in a workspace",
      description:
        "Validates the virtual host against nginx's grammar, stores it and delivers the new configuration to every agent it targets.",
      request: { params: workspaceParams, ...jsonBody(VirtualHostCreate) },
      responses: { 201: json(VirtualHost, "Created"), ...errorResponses },
    }),
    async (c) => {
      const created = await createVirtualHost(
        tenancy,
        c.get("principal"),
        c.req.valid("param").workspace_id,
        virtualHostInput(c.req.valid("json")),
      );
      return c.json(virtualHostJson(created), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/virtual-hosts/{virtual_host_id}",
      operationId: "getVirtualHost",
      tags,
      summary: "Get a virtual host",
      description: "A virtual host the caller cannot see answers 404.",
      request: { params: virtualHostParams },
      responses: { 200: json(VirtualHost, "The virtual host"), ...errorResponses },
    }),
    async (c) =>
      c.json(
        virtualHostJson(
          await getVirtualHost(tenancy, c.get("principal"), c.req.valid("param").virtual_host_id),
        ),
        200,
      ),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/virtual-hosts/{virtual_host_id}/status",
      operationId: "getVirtualHostStatus",
      tags,
      summary: "Get a virtual host's status on each agent",
      description:
        "For every agent the virtual host targets: applied, pending, or set aside with the reason.",
      request: { params: virtualHostParams },
      responses: { 200: json(VirtualHostStatus, "Per-agent status"), ...errorResponses },
    }),
    async (c) => {
      const id = c.req.valid("param").virtual_host_id;
      const agents = await virtualHostStatus(tenancy, c.get("principal"), id);
      return c.json(
        {
          virtual_host_id: id,
          agents: agents.map((agent) => ({
            agent_id: agent.agentId,
            status: agent.status,
            reason: agent.reason ?? null,
            field: agent.field ?? null,
            config_state: agent.configState,
          })),
        },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/virtual-hosts/{virtual_host_id}",
      operationId: "updateVirtualHost",
      tags,
      summary: "Change a virtual host",
      description:
        "Given fields replace the stored ones; the agents it targets (before and after) get the new configuration.",
      request: { params: virtualHostParams, ...jsonBody(VirtualHostPatch) },
      responses: { 200: json(VirtualHost, "Updated"), ...errorResponses },
    }),
    async (c) => {
      const updated = await updateVirtualHost(
        tenancy,
        c.get("principal"),
        c.req.valid("param").virtual_host_id,
        virtualHostPatchInput(c.req.valid("json")),
      );
      return c.json(virtualHostJson(updated), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/virtual-hosts/{virtual_host_id}",
      operationId: "deleteVirtualHost",
      tags,
      summary: "Delete a virtual host",
      description: "The agents it targeted drop it from their configuration.",
      request: { params: virtualHostParams },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      await deleteVirtualHost(tenancy, c.get("principal"), c.req.valid("param").virtual_host_id);
      return c.body(null, 204);
    },
  );
}
