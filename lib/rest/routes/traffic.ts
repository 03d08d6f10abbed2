import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { agentMetrics, queryAccessLogs, workspaceMetrics } from "../../tenancy/index.ts";
import {
  AccessLogListQuery,
  AccessLogPage,
  accessLogJson,
  accessLogQuery,
  Metrics,
  MetricsQuery,
  metricsJson,
  timeWindow,
} from "../config-schemas.ts";
import type { RestEnv } from "../env.ts";
import { errorResponses, idParams, json } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";

const workspaceParams = idParams("workspace_id");
const agentParams = idParams("agent_id");

/** Access logs and the metrics computed from them over a time window [from, to). */
export function trafficRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const { fleet } = deps;
  app.openapi(
    createRoute({
      method: "get",
      path: "/workspaces/{workspace_id}/access-logs",
      tags: ["access logs"],
      summary: "Query a workspace's access logs, newest first",
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
      tags: ["metrics"],
      summary: "A workspace's traffic metrics over [from, to)",
      request: { params: workspaceParams, query: MetricsQuery },
      responses: { 200: json(Metrics, "The metrics"), ...errorResponses },
    }),
    async (c) => {
      const metrics = await workspaceMetrics(
        fleet.deps,
        c.get("principal"),
        c.req.valid("param").workspace_id,
        timeWindow(c.req.valid("query")),
      );
      return c.json(metricsJson(metrics), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}/metrics",
      tags: ["metrics"],
      summary: "An agent's traffic metrics over [from, to), in its current workspace",
      request: { params: agentParams, query: MetricsQuery },
      responses: { 200: json(Metrics, "The metrics"), ...errorResponses },
    }),
    async (c) => {
      const metrics = await agentMetrics(
        fleet,
        c.get("principal"),
        c.req.valid("param").agent_id,
        timeWindow(c.req.valid("query")),
      );
      return c.json(metricsJson(metrics), 200);
    },
  );
}
