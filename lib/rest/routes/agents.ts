import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { NginxCommand } from "../../delivery/index.ts";
import { agentJoinCommands } from "../../fleet/index.ts";
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
import { errorObject } from "../errors.ts";
import {
  type ApiTag,
  errorResponses,
  idParams,
  json,
  jsonBody,
  noContent,
  pageOf,
} from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import {
  Agent,
  AgentConfigStatus,
  AgentListQuery,
  AgentPatch,
  agentConfigJson,
  agentJson,
  commandResultJson,
  ErrorBody,
  JoinToken,
  JoinTokenCreate,
  NginxCommandFailure,
  NginxCommandRequest,
  NginxCommandResult,
  NginxValidateRequest,
  pageMeta,
} from "../schemas.ts";

const tags: ApiTag[] = ["Agents"];
const agentParams = idParams("agent_id");
const workspaceParams = idParams("workspace_id");

/**
 * How a command the agent ran and failed is answered: 422 when nginx -t
 * refused the configuration the request carried (the seed's VALIDATION_ERROR),
 * 502 when the agent could not do what was asked (the control plane worked,
 * the machine behind it did not).
 */
const commandFailures = {
  refused: { status: 422, code: "VALIDATION_ERROR" },
  failed: { status: 502, code: "AGENT_COMMAND_FAILED" },
} as const;

/** Declared for every command: the answer, and the agent's failures and absence. */
const commandResponses = {
  200: json(NginxCommandResult, "The agent did it; its answer"),
  ...errorResponses,
  422: json(
    NginxCommandFailure,
    "Request validation failed; or, for validate, nginx -t refused the configuration (with the agent's answer)",
  ),
  502: json(NginxCommandFailure, "The agent ran the command and it failed; its answer"),
  503: json(ErrorBody, "The agent is not connected, or did not answer in time"),
};

export function agentRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const { fleet, delivery } = deps;
  const commandAgent = async (
    c: Context<RestEnv>,
    agentId: string,
    command: Omit<NginxCommand, "id">,
  ) => {
    const outcome = await commandAgentFor(fleet, delivery, c.get("principal"), agentId, command);
    const answer = commandResultJson(command.kind, outcome, fleet.deps.clock.now());
    if (answer.success) return c.json(answer, 200);
    const failure =
      command.kind === "validate_config" ? commandFailures.refused : commandFailures.failed;
    return c.json(
      { ...answer, error: errorObject(c, { code: failure.code, message: answer.message }) },
      failure.status,
    );
  };
  app.openapi(
    createRoute({
      method: "get",
      path: "/workspaces/{workspace_id}/agents",
      operationId: "listAgents",
      tags,
      summary: "List a workspace's agents",
      description:
        "Filters by state and by a label selector (`key=value`, `key!=value`, `key` (present), `!key` (absent); terms separated by commas, all must match), then pages.",
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
      operationId: "createJoinToken",
      tags,
      summary: "Create a join token for this workspace",
      description:
        "Returns a single-use, short-lived token for `drover agent --token`; the agent that joins with it lands in this workspace. Needs an admin of the workspace's organization.",
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
      const commands = agentJoinCommands(deps.joinAddress, created.token);
      return c.json(
        {
          token: created.token,
          // Workspace tokens are agent tokens: they always reserve an id.
          agent_id: created.agentId ?? "",
          expires_at: created.expiresAt.toISOString(),
          nonce_id: created.nonceId,
          join_command: commands.binary,
          join_command_npx: commands.npx,
        },
        201,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}",
      operationId: "getAgent",
      tags,
      summary: "Get an agent with its latest health",
      description: "The agent with its state, labels and the latest health report.",
      request: { params: agentParams },
      responses: { 200: json(Agent, "The agent"), ...errorResponses },
    }),
    async (c) => {
      const row = await getAgentFor(fleet, c.get("principal"), c.req.valid("param").agent_id);
      return c.json(
        agentJson(row, { config: await fleet.deps.store.configStatus.get(row.id) }),
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/agents/{agent_id}",
      operationId: "updateAgent",
      tags,
      summary: "Rename an agent, replace its labels or move it to another workspace",
      description:
        "Given fields replace the stored ones; labels are replaced as a whole. Needs an admin of the agent's organization.",
      request: { params: agentParams, ...jsonBody(AgentPatch) },
      responses: { 200: json(Agent, "Updated"), ...errorResponses },
    }),
    async (c) => {
      const { workspace_id, ...patch } = c.req.valid("json");
      const updated = await updateAgentFor(
        fleet,
        c.get("principal"),
        c.req.valid("param").agent_id,
        {
          ...patch,
          workspaceId: workspace_id,
        },
      );
      const config = await fleet.deps.store.configStatus.get(updated.id);
      return c.json(agentJson(updated, { config }), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/agents/{agent_id}",
      operationId: "deleteAgent",
      tags,
      summary: "Remove an agent",
      description:
        "Revokes the agent's certificates and cuts its connection at once; the agent has to join again with a new token.",
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
      operationId: "getAgentConfig",
      tags,
      summary: "Get the agent's configuration status",
      description:
        "Desired and applied configuration versions (per-agent integers, with the content hashes), the latest delivery's state and errors, and each virtual host applied or set aside with the reason.",
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
  for (const [action, kind, operationId, summary, description] of [
    [
      "reload",
      "reload",
      "reloadAgent",
      "Reload the agent's nginx gracefully",
      "Sends `nginx -s reload` through the agent's session and waits for its answer.",
    ],
    [
      "restart",
      "restart",
      "restartAgent",
      "Restart the agent's nginx (stop gracefully, start)",
      "Stops the agent's nginx gracefully and starts it again, waiting for the agent's answer.",
    ],
    [
      "stop",
      "stop",
      "stopAgent",
      "Stop the agent's nginx gracefully",
      "Stops the agent's nginx gracefully within `timeout_seconds`, waiting for its answer.",
    ],
    [
      "status",
      "get_status",
      "getAgentStatus",
      "Ask the agent for its nginx status now",
      "Asks now rather than waiting for the next health report.",
    ],
  ] as const) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/agents/{agent_id}/${action}`,
        operationId,
        tags,
        summary,
        description: `${description} Answers \`{success, message, timestamp}\` (with the agent's errors and nginx status); 502 when the agent ran it and it failed, 503 when the agent is not connected.`,
        request: { params: agentParams, ...jsonBody(NginxCommandRequest, false) },
        responses: commandResponses,
      }),
      async (c) => {
        const body = c.req.valid("json") ?? {};
        return commandAgent(c, c.req.valid("param").agent_id, {
          kind,
          ...(body.timeout_seconds === undefined ? {} : { timeoutSeconds: body.timeout_seconds }),
        });
      },
    );
  }
  app.openapi(
    createRoute({
      method: "post",
      path: "/agents/{agent_id}/validate",
      operationId: "validateAgentConfig",
      tags,
      summary: "Test an nginx configuration on the agent",
      description:
        "Runs `nginx -t` on the agent over the given configuration without applying it. Only the directives Drover's compiler writes, with paths inside the agent's directories, are accepted (422 names the directive and line); nginx's errors come back without text quoted from other files. A configuration nginx -t refuses answers 422 with the agent's answer (`success: false`).",
      request: { params: agentParams, ...jsonBody(NginxValidateRequest) },
      responses: commandResponses,
    }),
    async (c) =>
      commandAgent(c, c.req.valid("param").agent_id, {
        kind: "validate_config",
        configText: c.req.valid("json").config_text,
      }),
  );
}
