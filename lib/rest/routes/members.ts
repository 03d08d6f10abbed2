import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { MemberRow } from "../../store/index.ts";
import {
  addMember,
  listMembers,
  listUsers,
  removeMember,
  type UserWithRoles,
  updateMember,
} from "../../tenancy/index.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, idParams, json, jsonBody, noContent } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { pagedChildListRoute, pagedListRoute } from "./paged.ts";

const tags: ApiTag[] = ["Members"];
const Role = z.enum(["owner", "admin", "viewer"]);
const organizationParams = idParams("organization_id");
const memberParams = organizationParams.extend(idParams("user_id").shape);

const Member = z
  .object({
    user_id: z.string(),
    email: z.string(),
    role: Role,
    created_at: z.string().openapi({ description: "When the person became a member" }),
  })
  .openapi("Member");

const MemberCreate = z
  .strictObject({
    email: z.string(),
    role: Role,
    password: z.string().optional().openapi({
      description:
        "Only for an email the fleet does not know yet (then required): the new user's first password, which they must change at sign-in. Refused for an existing user.",
    }),
  })
  .openapi("MemberCreate");

const MemberPatch = z.strictObject({ role: Role }).openapi("MemberPatch");

const User = z
  .object({
    id: z.string(),
    email: z.string(),
    password_change_required: z.boolean(),
    created_at: z.string(),
    fleet_role: Role.nullable().openapi({ description: "A role across the whole fleet, if any" }),
    memberships: z.array(z.object({ organization_id: z.string(), role: Role })),
  })
  .openapi("User");

function memberJson(row: MemberRow) {
  return {
    user_id: row.userId,
    email: row.email,
    role: row.role,
    created_at: row.createdAt.toISOString(),
  };
}

function userJson({ user, fleetRole, memberships }: UserWithRoles) {
  return {
    id: user.id,
    email: user.email,
    password_change_required: user.passwordChangeRequired,
    created_at: user.createdAt.toISOString(),
    fleet_role: fleetRole,
    memberships: memberships.map((membership) => ({
      organization_id: membership.organizationId,
      role: membership.role,
    })),
  };
}

/** Organization members, and the fleet's users for its admins. */
export function memberRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const tenancy = deps.fleet.deps;
  pagedChildListRoute(app, {
    path: "/organizations/{organization_id}/members",
    operationId: "listMembers",
    tags,
    summary: "List an organization's members",
    description:
      "Pages through the people holding a role in the organization, in the order they joined it; any member may read them. Fleet-wide roles, which hold in every organization, are listed by `GET /users`.",
    idParam: "organization_id",
    item: Member,
    pageDescription: "A page of members",
    list: (principal, organizationId, page) =>
      listMembers(tenancy, principal, organizationId, page),
    toJson: memberJson,
  });
  app.openapi(
    createRoute({
      method: "post",
      path: "/organizations/{organization_id}/members",
      operationId: "addMember",
      tags,
      summary: "Give a person a role in the organization",
      description:
        "Needs an admin of the organization; granting `owner` needs an owner or a fleet-wide admin. An unknown email creates the user with the given password, which they must change at sign-in; a known one gets the membership, or its role changed.",
      request: { params: organizationParams, ...jsonBody(MemberCreate) },
      responses: { 201: json(Member, "The member"), ...errorResponses },
    }),
    async (c) => {
      const member = await addMember(
        tenancy,
        c.get("principal"),
        c.req.valid("param").organization_id,
        c.req.valid("json"),
      );
      return c.json(memberJson(member), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/organizations/{organization_id}/members/{user_id}",
      operationId: "updateMember",
      tags,
      summary: "Change a member's role",
      description:
        "Needs an admin of the organization; granting or taking away `owner` needs an owner or a fleet-wide admin. The last owner cannot be demoted (409).",
      request: { params: memberParams, ...jsonBody(MemberPatch) },
      responses: { 200: json(Member, "The member"), ...errorResponses },
    }),
    async (c) => {
      const { organization_id, user_id } = c.req.valid("param");
      const member = await updateMember(
        tenancy,
        c.get("principal"),
        organization_id,
        user_id,
        c.req.valid("json"),
      );
      return c.json(memberJson(member), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/organizations/{organization_id}/members/{user_id}",
      operationId: "removeMember",
      tags,
      summary: "Remove a member from the organization",
      description:
        "Needs an admin of the organization (an owner, or a fleet-wide admin, to remove an owner). The user keeps their account and other memberships. The last owner cannot be removed (409).",
      request: { params: memberParams },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      const { organization_id, user_id } = c.req.valid("param");
      await removeMember(tenancy, c.get("principal"), organization_id, user_id);
      return c.body(null, 204);
    },
  );
  pagedListRoute(app, {
    path: "/users",
    operationId: "listUsers",
    tags,
    summary: "List every user with their roles",
    description:
      "Fleet-wide admins and owners only (403 for others): every person who can sign in, in the order they were created, with their fleet-wide role and organization memberships.",
    item: User,
    pageDescription: "A page of users",
    list: (principal, page) => listUsers(tenancy, principal, page),
    toJson: userJson,
  });
}
