import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { createFile, deleteFile, getFile, listFiles, updateFile } from "../../tenancy/index.ts";
import {
  AgentFile,
  AgentFileCreate,
  AgentFilePatch,
  fileInput,
  fileJson,
  filePatchInput,
} from "../config-schemas.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, idParams, json, jsonBody, noContent } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { pagedChildListRoute } from "./paged.ts";

const tags: ApiTag[] = ["Files"];
const workspaceParams = idParams("workspace_id");
const fileParams = idParams("file_id");

/** Files, secrets and env templates delivered to agents; a secret's content is never answered. */
export function fileRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const tenancy = deps.fleet.deps;
  pagedChildListRoute(app, {
    path: "/workspaces/{workspace_id}/files",
    operationId: "listFiles",
    tags,
    summary: "List a workspace's files",
    description: "Files, secrets and env templates; a secret is listed without its content.",
    idParam: "workspace_id",
    item: AgentFile,
    pageDescription: "A page of files",
    list: (principal, workspaceId, page) => listFiles(tenancy, principal, workspaceId, page),
    toJson: fileJson,
  });
  app.openapi(
    createRoute({
      method: "post",
      path: "/workspaces/{workspace_id}/files",
      operationId: "createFile",
      tags,
      summary: "Create a file",
      description: "A file, secret or env template, delivered to the agents it targets.",
      request: { params: workspaceParams, ...jsonBody(AgentFileCreate) },
      responses: { 201: json(AgentFile, "Created"), ...errorResponses },
    }),
    async (c) => {
      const created = await createFile(
        tenancy,
        c.get("principal"),
        c.req.valid("param").workspace_id,
        fileInput(c.req.valid("json")),
      );
      return c.json(fileJson(created), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/files/{file_id}",
      operationId: "getFile",
      tags,
      summary: "Get a file (a secret without its content)",
      description: "A secret comes without its content.",
      request: { params: fileParams },
      responses: { 200: json(AgentFile, "The file"), ...errorResponses },
    }),
    async (c) =>
      c.json(
        fileJson(await getFile(tenancy, c.get("principal"), c.req.valid("param").file_id)),
        200,
      ),
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/files/{file_id}",
      operationId: "updateFile",
      tags,
      summary: "Change a file",
      description:
        "Given fields replace the stored ones; the kind cannot change. The agents holding it get the new content.",
      request: { params: fileParams, ...jsonBody(AgentFilePatch) },
      responses: { 200: json(AgentFile, "Updated"), ...errorResponses },
    }),
    async (c) => {
      const updated = await updateFile(
        tenancy,
        c.get("principal"),
        c.req.valid("param").file_id,
        filePatchInput(c.req.valid("json")),
      );
      return c.json(fileJson(updated), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/files/{file_id}",
      operationId: "deleteFile",
      tags,
      summary: "Delete a file",
      description:
        "The agents holding it remove it. Refused with 409 for a secret that a template uses.",
      request: { params: fileParams },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      await deleteFile(tenancy, c.get("principal"), c.req.valid("param").file_id);
      return c.body(null, 204);
    },
  );
}
