import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { NodeLogLine } from "../../node/index.ts";
import type { RestEnv } from "../env.ts";
import { errorObject } from "../errors.ts";
import { defaultLogSocketLimits } from "../log-socket.ts";
import {
  commandResultJson,
  commandRunOf,
  GpioRequest,
  GpioState,
  gpioCallOf,
  gpioStateJson,
  logEntryJson,
  logQueryOf,
  NodeCommandRequest,
  NodeCommandResult,
  NodeDescriptionJson,
  NodeHealthStatus,
  NodeLogEntry,
  NodeLogsQuery,
  NodeSystemMetrics,
  nodeDescriptionJson,
  nodeHealthJson,
  systemMetricsJson,
} from "../node-schemas.ts";
import { type ApiTag, errorResponses, idParams, json, jsonBody } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { ErrorBody } from "../schemas.ts";

const tags: ApiTag[] = ["Node functions"];
const agentParams = idParams("agent_id");
const lineParams = z.strictObject({
  agent_id: z.string().min(1).max(64),
  line: z.string().min(1).max(64).openapi({ description: "A GPIO line the agent declares" }),
});

/** Every node function travels to the agent: it may be away, or slow to answer. */
const agentResponses = {
  ...errorResponses,
  503: json(ErrorBody, "The agent is not connected, or did not answer in time"),
};

const followDescription =
  "Upgrade to a WebSocket (HTTP/1.1; authenticate with `?token=`, a bearer header, the session cookie from this server's pages, or an operator certificate). " +
  "The query is that of `listAgentSystemLogs`: the newest `lines` entries, then each new one as it is written, one JSON text message each: " +
  '`{"type":"entry","timestamp","message","source","priority","hostname"?}`. ' +
  'On failure one `{"type":"error","error":{"code","message","details"}}`, then the socket closes with 4000 + the HTTP status (4404, 4422, 4503…). ' +
  "Messages from the client are ignored. Closing the socket stops the agent's reading; a client that reads slowly slows the agent's stream. " +
  `At most ${defaultLogSocketLimits.maxFollowsPerUser} follows per user at once. Without an upgrade this answers 426.`;

/**
 * The Pi-Controller seed's NodeAgent over REST: each call goes to the agent
 * through its session (lib/node authorizes, rate-limits and audits), and what
 * may run there is the agent's own config file's to declare.
 */
export function nodeRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const { node } = deps;
  const clock = deps.sessions.clock;
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}/system-metrics",
      operationId: "getAgentSystemMetrics",
      tags,
      summary: "Get an agent's system metrics, fresh",
      description:
        "Asks the agent now: CPU, memory, disk, load, uptime, network counters, temperatures (`/sys/class/thermal`) and, on a Raspberry Pi, the throttling flags.",
      request: { params: agentParams },
      responses: { 200: json(NodeSystemMetrics, "The agent's figures"), ...agentResponses },
    }),
    async (c) => {
      const metrics = await node.systemMetrics(c.get("principal"), c.req.valid("param").agent_id);
      return c.json(systemMetricsJson(metrics), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}/health-check",
      operationId: "checkAgentHealth",
      tags,
      summary: "Check an agent with a round trip",
      description:
        "A call through the agent's session and back, with its latency, the agent's version and how long it has run.",
      request: { params: agentParams },
      responses: { 200: json(NodeHealthStatus, "The agent answered"), ...agentResponses },
    }),
    async (c) => {
      const health = await node.healthCheck(c.get("principal"), c.req.valid("param").agent_id);
      return c.json(nodeHealthJson(health), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}/node",
      operationId: "describeAgentNode",
      tags,
      summary: "List what an agent's config declares",
      description:
        "The commands (with their argv), log files and GPIO lines the agent's own config file declares, and whether journald is readable there. Nothing else can be run, read or switched.",
      request: { params: agentParams },
      responses: { 200: json(NodeDescriptionJson, "The declarations"), ...agentResponses },
    }),
    async (c) => {
      const description = await node.describe(c.get("principal"), c.req.valid("param").agent_id);
      return c.json(nodeDescriptionJson(description), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/agents/{agent_id}/exec",
      operationId: "executeAgentCommand",
      tags,
      summary: "Run a declared command on an agent",
      description:
        "Runs a command the agent's config declares, without a shell, within its timeout and output cap, and waits for it. A non-zero exit is still 200: the body says how the command went. An undeclared command is 404 and nothing runs. Needs write access to the agent; rate-limited per agent; audited as `node.command_executed`.",
      request: { params: agentParams, ...jsonBody(NodeCommandRequest) },
      responses: { 200: json(NodeCommandResult, "The command ran"), ...agentResponses },
    }),
    async (c) => {
      const run = commandRunOf(c.req.valid("json"));
      const result = await node.executeCommand(
        c.get("principal"),
        c.req.valid("param").agent_id,
        run,
      );
      return c.json(commandResultJson(result), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}/gpio/{line}",
      operationId: "getAgentGpio",
      tags,
      summary: "Read a declared GPIO line",
      description:
        "The line's logical level (active-low applied). Anyone who can see the agent may read it; rate-limited per agent with the other GPIO calls; audited as `node.gpio_controlled`.",
      request: { params: lineParams },
      responses: { 200: json(GpioState, "The line"), ...agentResponses },
    }),
    async (c) => {
      const { agent_id, line } = c.req.valid("param");
      const result = await node.controlGpio(c.get("principal"), agent_id, { line, action: "get" });
      return c.json(gpioStateJson(result), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/agents/{agent_id}/gpio/{line}",
      operationId: "controlAgentGpio",
      tags,
      summary: "Set, pulse or read a declared GPIO line",
      description:
        "`set` drives the line to `level`; `pulse` drives it to `level` (default on) for `duration_ms`, then back; `get` reads it. Lines the agent does not declare are 404. `set` and `pulse` need write access; rate-limited per agent; audited as `node.gpio_controlled`.",
      request: { params: lineParams, ...jsonBody(GpioRequest) },
      responses: { 200: json(GpioState, "The line after the call"), ...agentResponses },
    }),
    async (c) => {
      const { agent_id, line } = c.req.valid("param");
      const result = await node.controlGpio(
        c.get("principal"),
        agent_id,
        gpioCallOf(line, c.req.valid("json")),
      );
      return c.json(gpioStateJson(result), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}/system-logs",
      operationId: "listAgentSystemLogs",
      tags,
      summary: "Read an agent's journald or a declared log file",
      description:
        "The newest `lines` entries (default 100) of journald (optionally one `unit`, at `priority` or more urgent) or of a log file the agent declares (`file`), since `since`, oldest first. To follow, open the WebSocket at `/agents/{agent_id}/system-logs/follow`.",
      request: { params: agentParams, query: NodeLogsQuery },
      responses: {
        200: json(z.object({ entries: z.array(NodeLogEntry) }), "The entries"),
        ...agentResponses,
      },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const logQuery = logQueryOf(query, clock.now(), false);
      const entries: NodeLogLine[] = [];
      for await (const line of node.streamLogs(
        c.get("principal"),
        c.req.valid("param").agent_id,
        logQuery,
        c.req.raw.signal,
      )) {
        entries.push(line);
        // The agent sends at most `lines`; this bounds the answer whatever it does.
        if (entries.length >= logQuery.lines) break;
      }
      return c.json({ entries: entries.map(logEntryJson) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}/system-logs/follow",
      operationId: "followAgentSystemLogs",
      tags,
      summary: "Follow an agent's logs (WebSocket)",
      description: followDescription,
      request: { params: agentParams, query: NodeLogsQuery },
      responses: {
        101: { description: "Switching to the WebSocket" },
        426: json(ErrorBody, "Not a WebSocket upgrade"),
        ...errorResponses,
      },
    }),
    (c) =>
      c.json(
        {
          error: errorObject(c, {
            code: "UPGRADE_REQUIRED",
            message: "connect with a WebSocket (HTTP/1.1 Upgrade: websocket)",
          }),
        },
        426,
      ),
  );
}
