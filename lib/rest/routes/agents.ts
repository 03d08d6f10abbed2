import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import {
  createWorkspaceJoinToken,
  deleteAgentFor,
  getAgentFor,
  listWorkspaceAgents,
  updateAgentFor,
} from "../../tenancy/index.ts";
import type { RestEnv } from "../env.ts";
import { errorResponses, idParams, json, jsonBody, noContent, pageOf } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import {
  Agent,
  AgentListQuery,
  AgentPatch,
  agentJson,
  JoinToken,
  JoinTokenCreate,
  pageMeta,
} from "../schemas.ts";

const tags = ["agents"];
const agentParams = idParams("agent_id");
const workspaceParams = idParams("workspace_id");

export function agentRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const { fleet } = deps;
  app.openapi(
    createRoute({
      method: "get",
      path: "/workspaces/{workspace_id}/agents",
      tags,
      summary: "List a workspace's agents, by state and label selector",
      request: { params: workspaceParams, query: AgentListQuery },
      responses: { 200: json(pageOf(Agent), "A page of agents"), ...errorResponses },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const page = await listWorkspaceAgents(
        fleet,
        c.get("principal"),
        c.req.valid("param").workspace_id,
        {
          state: query.state === "all" ? undefined : query.state,
          labelSelector: query.label_selector,
        },
        { page: query.page, perPage: query.per_page },
      );
      return c.json(
        { data: page.items.map((row) => agentJson(row)), meta: pageMeta(query, page.total) },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/workspaces/{workspace_id}/agents/tokens",
      tags,
      summary: "Create a single-use join token for this workspace",
      request: { params: workspaceParams, ...jsonBody(JoinTokenCreate) },
      responses: { 201: json(JoinToken, "The token; show it once"), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const created = await createWorkspaceJoinToken(
        fleet,
        c.get("principal"),
        c.req.valid("param").workspace_id,
        {
          name: body.name,
          labels: body.labels,
          ttlMs:
            body.expires_in_hours === undefined ? undefined : body.expires_in_hours * 3_600_000,
        },
      );
      return c.json(
        {
          token: created.token,
          nonce_id: created.nonceId,
          expires_at: created.expiresAt.toISOString(),
        },
        201,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}",
      tags,
      summary: "Get an agent with its latest health",
      request: { params: agentParams },
      responses: { 200: json(Agent, "The agent"), ...errorResponses },
    }),
    async (c) =>
      c.json(
        agentJson(
          await getAgentFor(fleet, c.get("principal"), c.req.valid("param").agent_id),
          true,
        ),
        200,
      ),
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/agents/{agent_id}",
      tags,
      summary: "Rename an agent or replace its labels",
      request: { params: agentParams, ...jsonBody(AgentPatch) },
      responses: { 200: json(Agent, "Updated"), ...errorResponses },
    }),
    async (c) => {
      const updated = await updateAgentFor(
        fleet,
        c.get("principal"),
        c.req.valid("param").agent_id,
        c.req.valid("json"),
      );
      return c.json(agentJson(updated, true), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/agents/{agent_id}",
      tags,
      summary: "Remove an agent: its certificates are revoked and its connection cut",
      request: { params: agentParams },
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      await deleteAgentFor(fleet, c.get("principal"), c.req.valid("param").agent_id);
      return c.body(null, 204);
    },
  );
}
