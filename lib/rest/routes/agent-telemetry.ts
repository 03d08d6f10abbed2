import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AgentLogRow, AgentMetricRow } from "../../store/index.ts";
import {
  agentLogs,
  agentReportedMetrics,
  TELEMETRY_LIMIT_DEFAULT,
  TELEMETRY_LIMIT_MAX,
} from "../../tenancy/index.ts";
import { MetricsQuery, timeWindow } from "../config-schemas.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, idParams, json } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";

const agentParams = idParams("agent_id");
const limit = z.coerce
  .number()
  .int()
  .min(1)
  .max(TELEMETRY_LIMIT_MAX)
  .default(TELEMETRY_LIMIT_DEFAULT);

const ReportedMetricsQuery = MetricsQuery.extend({
  name: z.string().min(1).max(128).optional(),
  limit,
});

const AgentLogsQuery = MetricsQuery.extend({
  level: z
    .enum(["debug", "info", "warn", "error"])
    .optional()
    .openapi({ description: "The minimum level" }),
  limit,
});

const ReportedMetric = z
  .object({
    name: z.string(),
    value: z.number(),
    type: z.enum(["gauge", "counter", "histogram"]),
    labels: z.record(z.string(), z.string()),
    timestamp: z.string(),
  })
  .openapi("ReportedMetric");

const AgentLogEntry = z
  .object({
    timestamp: z.string(),
    level: z.enum(["debug", "info", "warn", "error"]),
    message: z.string(),
    fields: z.record(z.string(), z.string()),
  })
  .openapi("AgentLogEntry");

const metricJson = (row: AgentMetricRow) => ({
  name: row.name,
  value: row.value,
  type: row.type,
  labels: row.labels,
  timestamp: row.timestamp.toISOString(),
});

const logJson = (row: AgentLogRow) => ({
  timestamp: row.timestamp.toISOString(),
  level: row.level,
  message: row.message,
  fields: row.fields,
});

/**
 * What an agent pushed about itself. `/agents/{agent_id}/metrics` is the
 * seed's traffic metrics (computed from access logs), so the agent's own
 * figures are `reported-metrics`.
 */
export function agentTelemetryRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const { fleet } = deps;
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}/reported-metrics",
      operationId: "listAgentReportedMetrics",
      tags: ["Agents"] satisfies ApiTag[],
      summary: "List the metrics an agent reported",
      description:
        "The figures the agent pushed itself (NxMesh's MetricsBatch), newest first, in the window [from, to) (without them, the last 24 hours), optionally of one `name`.",
      request: { params: agentParams, query: ReportedMetricsQuery },
      responses: {
        200: json(z.object({ data: z.array(ReportedMetric) }), "The metrics, newest first"),
        ...errorResponses,
      },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const rows = await agentReportedMetrics(
        fleet,
        c.get("principal"),
        c.req.valid("param").agent_id,
        { ...timeWindow(query), name: query.name, limit: query.limit },
      );
      return c.json({ data: rows.map(metricJson) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/agents/{agent_id}/logs",
      operationId: "listAgentLogs",
      tags: ["Agents"] satisfies ApiTag[],
      summary: "List an agent's own log entries",
      description:
        "The agent's own log entries (NxMesh's LogBatch; not nginx's access log), newest first, at `level` or above, in the window [from, to) (without them, the last 24 hours).",
      request: { params: agentParams, query: AgentLogsQuery },
      responses: {
        200: json(z.object({ data: z.array(AgentLogEntry) }), "The log entries, newest first"),
        ...errorResponses,
      },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const rows = await agentLogs(fleet, c.get("principal"), c.req.valid("param").agent_id, {
        ...timeWindow(query),
        level: query.level,
        limit: query.limit,
      });
      return c.json({ data: rows.map(logJson) }, 200);
    },
  );
}
