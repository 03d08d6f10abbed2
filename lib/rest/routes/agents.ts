import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Principal } from "../../auth/index.ts";
import type { NginxCommand } from "../../delivery/index.ts";
import {
  commandAgentFor,
  createWorkspaceJoinToken,
  deleteAgentFor,
  getAgentConfigFor,
  getAgentFor,
  listWorkspaceAgents,
  updateAgentFor,
} from "../../tenancy/index.ts";
import type { RestEnv } from "../env.ts";
import { errorResponses, idParams, json, jsonBody, noContent, pageOf } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import {
  Agent,
  AgentConfigStatus,
  AgentListQuery,
  AgentPatch,
  agentConfigJson,
  agentJson,
  commandResultJson,
  JoinToken,
  JoinTokenCreate,
  NginxCommandRequest,
  NginxCommandResult,
  NginxValidateRequest,
  pageMeta,
} from "../schemas.ts";

const tags = ["agents"];
const agentParams = idParams("agent_id");
const workspaceParams = idParams("workspace_id");

export function agentRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const { fleet, delivery } = deps;
  const commandAgent = async (
    principal: Principal,
    agentId: string,
    command: Omit<NginxCommand, "id">,
  ) => commandResultJson(await commandAgentFor(fleet, delivery, principal, agentId, command));
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
          allowSelfLabels: body.allow_self_labels,
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
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}/config",
      tags,
      summary:
        "The agent's configuration: desired and applied versions, the latest delivery's state and errors, each virtual host applied or set aside",
      request: { params: agentParams },
      responses: { 200: json(AgentConfigStatus, "Configuration status"), ...errorResponses },
    }),
    async (c) => {
      const id = c.req.valid("param").agent_id;
      return c.json(
        agentConfigJson(id, await getAgentConfigFor(fleet, c.get("principal"), id)),
        200,
      );
    },
  );
  // NxMesh's agent commands. Each waits for the agent's answer (503 when it is not connected).
  for (const [action, kind, summary] of [
    ["reload", "reload", "Reload the agent's nginx gracefully"],
    ["restart", "restart", "Restart the agent's nginx (stop gracefully, start)"],
    ["stop", "stop", "Stop the agent's nginx gracefully, within timeout_seconds"],
    ["status", "get_status", "Ask the agent for its nginx status now"],
  ] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/agents/{agent_id}/${action}`,
        tags,
        summary,
        request: { params: agentParams, ...jsonBody(NginxCommandRequest, false) },
        responses: { 200: json(NginxCommandResult, "The agent's answer"), ...errorResponses },
      }),
      async (c) => {
        const body = c.req.valid("json") ?? {};
        const answer = await commandAgent(c.get("principal"), c.req.valid("param").agent_id, {
          kind,
          ...(body.timeout_seconds === undefined ? {} : { timeoutSeconds: body.timeout_seconds }),
        });
        return c.json(answer, 200);
      },
    );
  }
  app.openapi(
    createRoute({
      method: "post",
      path: "/agents/{agent_id}/validate",
      tags,
      summary:
        "Have the agent's nginx test a configuration (nginx -t) without applying it. Only the directives Drover's compiler writes, with paths inside the agent's directories, are accepted (422 names the directive and line); nginx's errors come back without text quoted from other files",
      request: { params: agentParams, ...jsonBody(NginxValidateRequest) },
      responses: { 200: json(NginxCommandResult, "The agent's answer"), ...errorResponses },
    }),
    async (c) => {
      const answer = await commandAgent(c.get("principal"), c.req.valid("param").agent_id, {
        kind: "validate_config",
        configText: c.req.valid("json").config_text,
      });
      return c.json(answer, 200);
    },
  );
}
