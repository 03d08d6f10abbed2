import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { deleteWorkspace, getWorkspace, updateWorkspace } from "../../tenancy/index.ts";
import type { RestEnv } from "../env.ts";
import { errorResponses, idParams, json, jsonBody, noContent } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { Workspace, WorkspacePatch, workspaceJson } from "../schemas.ts";

const tags = ["workspaces"];
const workspaceParams = idParams("workspace_id");

export function workspaceRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const tenancy = deps.fleet.deps;
  app.openapi(
    createRoute({
      method: "get",
      path: "/workspaces/{workspace_id}",
      tags,
      summary: "Get a workspace",
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
      tags,
      summary: "Rename a workspace or change its slug",
      request: { params: workspaceParams, ...jsonBody(WorkspacePatch) },
      responses: { 200: json(Workspace, "Updated"), ...errorResponses },
    }),
    async (c) => {
      const { workspace_id } = c.req.valid("param");
      const updated = await updateWorkspace(
        tenancy,
        c.get("principal"),
        workspace_id,
        c.req.valid("json"),
      );
      return c.json(workspaceJson(updated), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/workspaces/{workspace_id}",
      tags,
      summary: "Delete a workspace (its agents stay, unassigned)",
      request: { params: workspaceParams },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      await deleteWorkspace(tenancy, c.get("principal"), c.req.valid("param").workspace_id);
      return c.body(null, 204);
    },
  );
}
