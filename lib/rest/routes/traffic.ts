import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { agentMetrics, queryAccessLogs, workspaceMetrics } from "../../tenancy/index.ts";
import {
  AccessLogListQuery,
  AccessLogPage,
  accessLogJson,
  accessLogQuery,
  Metrics,
  metricsJson,
  metricsRequest,
  TrafficMetricsQuery,
} from "../config-schemas.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, idParams, json } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";

const workspaceParams = idParams("workspace_id");
const agentParams = idParams("agent_id");

/** Access logs and the metrics computed from them over a time window [from, to), the last 24 hours by default. */
export function trafficRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const { fleet } = deps;
  app.openapi(
    createRoute({
      method: "get",
      path: "/workspaces/{workspace_id}/access-logs",
      operationId: "queryAccessLogs",
      tags: ["Traffic"] satisfies ApiTag[],
      summary: "Query a workspace's access logs",
      description:
        "Access log entries reported by the workspace's agents, newest first, filtered by the query, with how many match in all.",
      request: { params: workspaceParams, query: AccessLogListQuery },
      responses: {
        200: json(AccessLogPage, "Matching access logs, with how many match in all"),
        ...errorResponses,
      },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const page = await queryAccessLogs(
        fleet.deps,
        c.get("principal"),
        c.req.valid("param").workspace_id,
        accessLogQuery(query),
      );
      return c.json(
        { data: page.items.map(accessLogJson), meta: { total: page.total, limit: query.limit } },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/workspaces/{workspace_id}/metrics",
      operationId: "getWorkspaceMetrics",
      tags: ["Traffic"] satisfies ApiTag[],
      summary: "Get a workspace's traffic metrics",
      description:
        "Requests, status classes, bytes and latency over the window [from, to), computed from the access logs; without `from` and `to`, the last 24 hours. With `interval`, also the `series` of buckets for a chart.",
      request: { params: workspaceParams, query: TrafficMetricsQuery },
      responses: { 200: json(Metrics, "The metrics"), ...errorResponses },
    }),
    async (c) => {
      const metrics = await workspaceMetrics(
        fleet.deps,
        c.get("principal"),
        c.req.valid("param").workspace_id,
        metricsRequest(c.req.valid("query")),
      );
      return c.json(metricsJson(metrics), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}/metrics",
      operationId: "getAgentMetrics",
      tags: ["Traffic"] satisfies ApiTag[],
      summary: "Get an agent's traffic metrics",
      description:
        "Traffic metrics of one agent over the window [from, to), in its current workspace; without `from` and `to`, the last 24 hours. With `interval`, also the `series` of buckets for a chart.",
      request: { params: agentParams, query: TrafficMetricsQuery },
      responses: { 200: json(Metrics, "The metrics"), ...errorResponses },
    }),
    async (c) => {
      const metrics = await agentMetrics(
        fleet,
        c.get("principal"),
        c.req.valid("param").agent_id,
        metricsRequest(c.req.valid("query")),
      );
      return c.json(metricsJson(metrics), 200);
    },
  );
}
