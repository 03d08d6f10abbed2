import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { deleteWorkspace, getWorkspace, updateWorkspace } from "../../tenancy/index.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, idParams, json, jsonBody, noContent } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { Workspace, WorkspacePatch, workspaceJson, workspacePatchInput } from "../schemas.ts";

const tags: ApiTag[] = ["Workspaces"];
const workspaceParams = idParams("workspace_id");

export function workspaceRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const tenancy = deps.fleet.deps;
  app.openapi(
    createRoute({
      method: "get",
      path: "/workspaces/{workspace_id}",
      operationId: "getWorkspace",
      tags,
      summary: "Get a workspace",
      description: "A workspace the caller cannot see answers 404.",
      request: { params: workspaceParams },
      responses: { 200: json(Workspace, "The workspace"), ...errorResponses },
    }),
    async (c) =>
      c.json(
        workspaceJson(
          await getWorkspace(tenancy, c.get("principal"), c.req.valid("param").workspace_id),
        ),
        200,
      ),
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/workspaces/{workspace_id}",
      operationId: "updateWorkspace",
      tags,
      summary: "Change a workspace's name, slug or settings",
      description:
        "Needs an admin of the workspace's organization; given fields replace the stored ones and null clears global_settings or alert_thresholds. Changed global_settings are compiled and delivered to every agent of the workspace; alert_thresholds apply from the agents' next health report.",
      request: { params: workspaceParams, ...jsonBody(WorkspacePatch) },
      responses: { 200: json(Workspace, "Updated"), ...errorResponses },
    }),
    async (c) => {
      const { workspace_id } = c.req.valid("param");
      const updated = await updateWorkspace(
        tenancy,
        c.get("principal"),
        workspace_id,
        workspacePatchInput(c.req.valid("json")),
      );
      return c.json(workspaceJson(updated), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/workspaces/{workspace_id}",
      operationId: "deleteWorkspace",
      tags,
      summary: "Delete a workspace",
      description:
        "Needs an admin of the workspace's organization. Its agents stay in the fleet, unassigned, until a fleet admin moves them to another workspace.",
      request: { params: workspaceParams },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      await deleteWorkspace(tenancy, c.get("principal"), c.req.valid("param").workspace_id);
      return c.body(null, 204);
    },
  );
}
