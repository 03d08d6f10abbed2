import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { alertSeverities } from "../../events/index.ts";
import {
  EVENT_HISTORY_LIMIT_MAX,
  eventHistory,
  listOpenAlerts,
  type VisibleAlert,
  workspaceRollout,
} from "../../tenancy/index.ts";
import type { RestEnv } from "../env.ts";
import { eventJson } from "../event-connection.ts";
import { type ApiTag, errorResponses, idParams, json } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";

const tags = ["Observability"] satisfies ApiTag[];

const OpenAlert = z
  .object({
    alert_id: z.string(),
    agent_id: z.string(),
    workspace_id: z.string().nullable().openapi({ description: "The agent's workspace now" }),
    severity: z.enum(alertSeverities),
    message: z.string(),
    metric: z
      .string()
      .openapi({ description: "The threshold's metric (cpu_percent, …) or the agent's alert id" }),
    value: z.number(),
    source: z.enum(["server", "agent"]),
    since: z.string().openapi({ description: "When it was raised; an escalation keeps it" }),
  })
  .openapi("OpenAlert");

const alertJson = (alert: VisibleAlert) => ({
  alert_id: alert.alertId,
  agent_id: alert.agentId,
  workspace_id: alert.workspaceId,
  severity: alert.severity,
  message: alert.message,
  metric: alert.metric,
  value: alert.value,
  source: alert.source,
  since: alert.since.toISOString(),
});

const AlertsQuery = z.strictObject({ workspace_id: z.string().min(1).max(64).optional() });

const seq = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const EventsQuery = z.strictObject({
  before: seq.optional().openapi({ description: "Events with a lower seq, newest first" }),
  after: seq.optional().openapi({ description: "Events with a higher seq, oldest first" }),
  types: z
    .string()
    .optional()
    .openapi({ description: "Comma-separated types or patterns: `agent.*,config.*`" }),
  workspace_id: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(EVENT_HISTORY_LIMIT_MAX).default(100),
});

const StoredEvent = z
  .object({
    seq: z.number(),
    type: z.string(),
    timestamp: z.string(),
    subject_id: z.string(),
    data: z.record(z.string(), z.unknown()),
  })
  .openapi("StoredEvent");

const EventPage = z.object({
  data: z.array(StoredEvent),
  meta: z.object({
    limit: z.number(),
    next_before: z.number().nullable().openapi({
      description: "Newest first: `before` for the next, older page; null once the oldest was read",
    }),
    next_after: z.number().nullable().openapi({
      description: "With `after`: `after` to go on; null once the newest was read",
    }),
  }),
});

const Rollout = z
  .object({
    agents: z.number(),
    applied: z.number().openapi({ description: "Agents whose applied version is the desired one" }),
    pending: z.number().openapi({ description: "Neither applied nor failed (no session yet too)" }),
    failed: z
      .number()
      .openapi({ description: "Not applied; the latest delivery failed or was rolled back" }),
    set_aside_hosts: z
      .number()
      .openapi({ description: "(agent, virtual host) pairs left out of desired configurations" }),
  })
  .openapi("Rollout");

/** What the web UI's overview, events and rollout views read: open alerts, stored events, rollout. */
export function observabilityRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const { fleet } = deps;
  app.openapi(
    createRoute({
      method: "get",
      path: "/alerts",
      operationId: "listAlerts",
      tags,
      summary: "List open alerts",
      description:
        "The alerts firing now on agents the caller may see (health thresholds and the agents' own alerts), newest first. They live in the server's memory: a restart forgets them until the agents report again.",
      request: { query: AlertsQuery },
      responses: {
        200: json(z.object({ data: z.array(OpenAlert) }), "Open alerts"),
        ...errorResponses,
      },
    }),
    async (c) => {
      const alerts = await listOpenAlerts(fleet, c.get("principal"), {
        workspaceId: c.req.valid("query").workspace_id,
      });
      return c.json({ data: alerts.map(alertJson) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/events",
      operationId: "listEvents",
      tags,
      summary: "Read the event history",
      description:
        "Stored events the caller may see, in the WebSocket's envelope: newest first (older pages with `before` = `meta.next_before`), or oldest first after `after`. A page may hold fewer than `limit` events when many do not match; follow the cursor. The same path upgrades to the live WebSocket.",
      request: { query: EventsQuery },
      responses: { 200: json(EventPage, "A page of events"), ...errorResponses },
    }),
    async (c) => {
      const query = c.req.valid("query");
      const page = await eventHistory(fleet.deps, c.get("principal"), {
        before: query.before,
        after: query.after,
        types: query.types?.split(",").map((type) => type.trim()),
        workspaceId: query.workspace_id,
        limit: query.limit,
      });
      return c.json(
        {
          data: page.events.map(eventJson),
          meta: { limit: query.limit, next_before: page.nextBefore, next_after: page.nextAfter },
        },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/workspaces/{workspace_id}/rollout",
      operationId: "getWorkspaceRollout",
      tags,
      summary: "Get a workspace's configuration rollout",
      description:
        "How many of the workspace's agents applied their desired configuration, are still pending, or failed; and how many (agent, virtual host) pairs are set aside.",
      request: { params: idParams("workspace_id") },
      responses: { 200: json(Rollout, "The rollout counts"), ...errorResponses },
    }),
    async (c) => {
      const counts = await workspaceRollout(
        fleet.deps,
        c.get("principal"),
        c.req.valid("param").workspace_id,
      );
      return c.json(
        {
          agents: counts.agents,
          applied: counts.applied,
          pending: counts.pending,
          failed: counts.failed,
          set_aside_hosts: counts.setAsideHosts,
        },
        200,
      );
    },
  );
}
