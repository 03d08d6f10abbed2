import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import {
  createOrganization,
  createWorkspace,
  deleteOrganization,
  getOrganization,
  listOrganizations,
  listWorkspaces,
  updateOrganization,
} from "../../tenancy/index.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, idParams, json, jsonBody, noContent } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import {
  Organization,
  OrganizationCreate,
  OrganizationPatch,
  organizationJson,
  Workspace,
  WorkspaceCreate,
  workspaceInput,
  workspaceJson,
} from "../schemas.ts";
import { pagedChildListRoute, pagedListRoute } from "./paged.ts";

const tags: ApiTag[] = ["Organizations"];
const organizationParams = idParams("organization_id");

export function organizationRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const tenancy = deps.fleet.deps;
  pagedListRoute(app, {
    path: "/organizations",
    operationId: "listOrganizations",
    tags,
    summary: "List the organizations the caller can see",
    description:
      "Pages through the organizations the caller is a member of (all of them for a fleet-wide member).",
    item: Organization,
    pageDescription: "A page of organizations",
    list: (principal, page) => listOrganizations(tenancy, principal, page),
    toJson: organizationJson,
  });
  app.openapi(
    createRoute({
      method: "post",
      path: "/organizations",
      operationId: "createOrganization",
      tags,
      summary: "Create an organization",
      description:
        "Needs a fleet-wide admin. The slug must be unique across the fleet (409 otherwise).",
      request: jsonBody(OrganizationCreate),
      responses: { 201: json(Organization, "Created"), ...errorResponses },
    }),
    async (c) =>
      c.json(
        organizationJson(
          await createOrganization(tenancy, c.get("principal"), c.req.valid("json")),
        ),
        201,
      ),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/organizations/{organization_id}",
      operationId: "getOrganization",
      tags,
      summary: "Get an organization",
      description: "An organization the caller cannot see answers 404, so ids do not leak.",
      request: { params: organizationParams },
      responses: { 200: json(Organization, "The organization"), ...errorResponses },
    }),
    async (c) =>
      c.json(
        organizationJson(
          await getOrganization(tenancy, c.get("principal"), c.req.valid("param").organization_id),
        ),
        200,
      ),
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/organizations/{organization_id}",
      operationId: "updateOrganization",
      tags,
      summary: "Rename an organization or change its slug",
      description: "Needs an admin of the organization; given fields replace the stored ones.",
      request: { params: organizationParams, ...jsonBody(OrganizationPatch) },
      responses: { 200: json(Organization, "Updated"), ...errorResponses },
    }),
    async (c) => {
      const { organization_id } = c.req.valid("param");
      const updated = await updateOrganization(
        tenancy,
        c.get("principal"),
        organization_id,
        c.req.valid("json"),
      );
      return c.json(organizationJson(updated), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/organizations/{organization_id}",
      operationId: "deleteOrganization",
      tags,
      summary: "Delete an organization with its workspaces",
      description: "Its workspaces go with it; their agents stay in the fleet, unassigned.",
      request: { params: organizationParams },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      await deleteOrganization(tenancy, c.get("principal"), c.req.valid("param").organization_id);
      return c.body(null, 204);
    },
  );
  pagedChildListRoute(app, {
    path: "/organizations/{organization_id}/workspaces",
    operationId: "listWorkspaces",
    tags: ["Workspaces"],
    summary: "List an organization's workspaces",
    description: "Pages through the workspaces of an organization the caller can see.",
    idParam: "organization_id",
    item: Workspace,
    pageDescription: "A page of workspaces",
    list: (principal, organizationId, page) =>
      listWorkspaces(tenancy, principal, organizationId, page),
    toJson: workspaceJson,
  });
  app.openapi(
    createRoute({
      method: "post",
      path: "/organizations/{organization_id}/workspaces",
      operationId: "createWorkspace",
      tags: ["Workspaces"],
      summary: "Create a workspace in an organization",
      description:
        "Needs an admin of the organization. The slug must be unique within the organization (409 otherwise).",
      request: { params: organizationParams, ...jsonBody(WorkspaceCreate) },
      responses: { 201: json(Workspace, "Created"), ...errorResponses },
    }),
    async (c) => {
      const { organization_id } = c.req.valid("param");
      const created = await createWorkspace(
        tenancy,
        c.get("principal"),
        organization_id,
        workspaceInput(c.req.valid("json")),
      );
      return c.json(workspaceJson(created), 201);
    },
  );
}
