import { z } from "@hono/zod-openapi";
import type { CommandKind, CommandOutcome } from "../delivery/index.ts";
import type { AgentHealth, NginxHealth } from "../fleet/index.ts";
import {
  type AgentRow,
  type ConfigStatusRow,
  configApplyStates,
  deploymentModes,
  type OrganizationRow,
} from "../store/index.ts";

/** Request and response shapes of REST /v1, one source for validation and OpenAPI. */

const ErrorDetail = z.object({ field: z.string(), message: z.string(), code: z.string() });
export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "VALIDATION_ERROR" }),
      message: z.string(),
      request_id: z.string(),
      details: z.array(ErrorDetail),
    }),
  })
  .openapi("Error");

export const PageQuery = z.strictObject({
  page: z.coerce.number().int().min(1).default(1),
  per_page: z.coerce.number().int().min(1).max(100).default(20),
});

export const PageMeta = z.object({ page: z.number(), per_page: z.number(), total: z.number() });

export function pageMeta(query: { page: number; per_page: number }, total: number) {
  return { page: query.page, per_page: query.per_page, total };
}

const labels = z.record(z.string(), z.string());

export const Organization = z
  .object({
    id: z.string(),
    name: z.string(),
    slug: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Organization");

export const OrganizationCreate = z.strictObject({ name: z.string(), slug: z.string() });
export const OrganizationPatch = z.strictObject({
  name: z.string().optional(),
  slug: z.string().optional(),
});

export function organizationJson(row: OrganizationRow) {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export {
  Workspace,
  WorkspaceCreate,
  WorkspacePatch,
  workspaceInput,
  workspaceJson,
  workspacePatchInput,
} from "./workspace-schemas.ts";

const NginxJson = z.object({
  running: z.boolean(),
  pid: z.number().int().nullable(),
  uptime_seconds: z.number(),
  active_connections: z.number().int(),
  requests_total: z.number().int(),
  requests_per_second: z.number(),
  config_version: z.string().nullable(),
});

const AgentHealthJson = z.object({
  nginx_status: z.enum(["running", "stopped", "unknown"]).openapi({
    description: "unknown when the agent reports no nginx",
  }),
  nginx_uptime_seconds: z.number().int(),
  active_connections: z.number().int(),
  requests_per_second: z.number(),
  config_version: z.number().int().openapi({
    description: "The config version the agent last applied with success; 0 before the first",
  }),
  observed_at: z.string(),
  cpu_percent: z.number(),
  memory_used_mb: z.number(),
  memory_total_mb: z.number(),
  disk_used_mb: z.number(),
  disk_total_mb: z.number(),
  load_average: z.array(z.number()),
  uptime_seconds: z.number(),
  config_hash: z.string(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), message: z.string() })),
  nginx: NginxJson.nullable(),
});

export const Agent = z
  .object({
    id: z.string(),
    workspace_id: z.string().nullable(),
    name: z.string(),
    hostname: z.string(),
    ip_address: z.string(),
    version: z.string(),
    state: z.enum(["online", "offline", "degraded"]),
    last_seen_at: z.string().nullable(),
    capabilities: z.array(z.string()),
    deployment_mode: z.enum(deploymentModes),
    labels: labels.openapi({
      description:
        "The operator's labels (join token, PATCH; the agent's own claims only where its token allowed them): the labels selectors match",
    }),
    claimed_labels: labels.openapi({
      description:
        "The labels the agent claimed when it joined (drover agent --label): shown, matched by no selector",
    }),
    created_at: z.string(),
    health: AgentHealthJson.nullable().optional(),
  })
  .openapi("Agent");

const mb = (bytes: number) => Math.round(bytes / 1048576);

/** The seed's flat fields first, derived from the report; Drover's detail after them. */
function healthJson(health: AgentHealth, config: ConfigStatusRow | null) {
  const nginx = health.nginx;
  return {
    nginx_status: (nginx === undefined ? "unknown" : nginx.running ? "running" : "stopped") as
      | "running"
      | "stopped"
      | "unknown",
    nginx_uptime_seconds: Math.floor(nginx?.uptimeSeconds ?? 0),
    active_connections: nginx?.activeConnections ?? 0,
    requests_per_second: nginx?.requestsPerSecond ?? 0,
    config_version: config?.appliedRevision ?? 0,
    observed_at: health.observedAt,
    cpu_percent: health.cpuPercent,
    memory_used_mb: mb(health.memoryUsedBytes),
    memory_total_mb: mb(health.memoryTotalBytes),
    disk_used_mb: mb(health.diskUsedBytes),
    disk_total_mb: mb(health.diskTotalBytes),
    load_average: health.loadAverage,
    uptime_seconds: health.uptimeSeconds,
    config_hash: health.configHash,
    checks: health.checks,
    nginx: health.nginx === undefined ? null : nginxJson(health.nginx),
  };
}

/**
 * The list form leaves health out; GET /agents/{id} adds it, given the
 * agent's configuration status (its config version).
 */
export function agentJson(row: AgentRow, detail?: { config: ConfigStatusRow | null }) {
  return {
    id: row.id,
    workspace_id: row.workspaceId,
    name: row.name,
    hostname: row.hostname,
    ip_address: row.ip,
    version: row.version,
    state: row.state,
    last_seen_at: row.lastSeenAt?.toISOString() ?? null,
    capabilities: row.capabilities,
    deployment_mode: row.deploymentMode,
    labels: row.labels,
    claimed_labels: row.claimedLabels,
    created_at: row.createdAt.toISOString(),
    ...(detail
      ? {
          health: row.lastHealth
            ? healthJson(row.lastHealth as unknown as AgentHealth, detail.config)
            : null,
        }
      : {}),
  };
}

export const AgentConfigStatus = z
  .object({
    agent_id: z.string(),
    config_id: z.string().nullable().openapi({
      description: "The latest delivery's configuration: its content hash (as config_hash)",
    }),
    version: z.number().int().openapi({
      description:
        "The latest delivery's config version: a per-agent integer, one more for each new desired configuration; 0 before any",
      example: 42,
    }),
    config_hash: z.string().nullable(),
    desired_version: z.number().int(),
    desired_config_hash: z.string().nullable(),
    state: z.enum(configApplyStates),
    applied_version: z.number().int().nullable().openapi({
      description: "The config version last applied with success; null before the first",
    }),
    applied_config_hash: z.string().nullable(),
    applied_at: z.string().nullable(),
    duration_ms: z.number().int().nullable(),
    error_message: z.string().nullable().openapi({
      description: "The latest delivery's errors on one line; null when there are none",
    }),
    errors: z.array(z.string()),
    steps: z.array(
      z.object({
        name: z.string(),
        ok: z.boolean(),
        duration_ms: z.number().int(),
        detail: z.string().optional(),
      }),
    ),
    virtual_hosts: z.array(
      z.object({
        id: z.string(),
        status: z.enum(["applied", "set_aside"]),
        reason: z.string().optional(),
        field: z.string().optional(),
      }),
    ),
    files: z
      .array(
        z.object({
          id: z.string(),
          path: z.string(),
          status: z.literal("set_aside"),
          reason: z.string(),
        }),
      )
      .openapi({
        description:
          "Agent files targeted at the agent that it is not given, with the reason (e.g. a template using a secret not targeted at it)",
      }),
    updated_at: z.string().nullable(),
  })
  .openapi("AgentConfigStatus");

/** An agent that has never had a session has no row yet: pending, nothing known. */
export function agentConfigJson(agentId: string, row: ConfigStatusRow | null) {
  return {
    agent_id: agentId,
    config_id: row?.version ?? null,
    version: row?.revision ?? 0,
    config_hash: row?.version ?? null,
    desired_version: row?.desiredRevision ?? 0,
    desired_config_hash: row?.desiredVersion ?? null,
    state: row?.state ?? "pending",
    applied_version: row?.appliedRevision ?? null,
    applied_config_hash: row?.appliedVersion ?? null,
    applied_at: row?.appliedAt?.toISOString() ?? null,
    duration_ms: row?.durationMs ?? null,
    error_message: row === null || row.errors.length === 0 ? null : row.errors.join("; "),
    errors: row?.errors ?? [],
    steps: (row?.steps ?? []).map((step) => ({
      name: step.name,
      ok: step.ok,
      duration_ms: step.durationMs,
      ...(step.detail === undefined ? {} : { detail: step.detail }),
    })),
    virtual_hosts: row?.hosts ?? [],
    files: row?.files ?? [],
    updated_at: row?.updatedAt.toISOString() ?? null,
  };
}

export const NginxCommandRequest = z.strictObject({
  timeout_seconds: z.number().int().min(1).max(3600).optional(),
});

export const NginxValidateRequest = z.strictObject({
  config_text: z.string().openapi({
    description: "The nginx configuration to test (nginx -t), at most 1 MiB of UTF-8",
  }),
});

/** The seed's command answer `{success, message, timestamp}`, with Drover's `ok`, `errors` and `nginx`. */
export const NginxCommandResult = z
  .object({
    success: z.boolean(),
    message: z.string().openapi({ example: "Nginx reloaded successfully" }),
    timestamp: z.string().openapi({ description: "When the agent's answer arrived (RFC 3339)" }),
    ok: z.boolean().openapi({ description: "The same as success" }),
    errors: z.array(z.string()),
    nginx: NginxJson.nullable(),
  })
  .openapi("NginxCommandResult");

/** A command the agent ran and failed: its answer with the NxMesh error object. */
export const NginxCommandFailure = NginxCommandResult.extend({
  error: ErrorBody.shape.error,
}).openapi("NginxCommandFailure");

function nginxJson(status: NginxHealth) {
  return {
    running: status.running,
    pid: status.pid ?? null,
    uptime_seconds: status.uptimeSeconds ?? 0,
    active_connections: status.activeConnections ?? 0,
    requests_total: status.requestsTotal ?? 0,
    requests_per_second: status.requestsPerSecond ?? 0,
    config_version: status.configVersion ?? null,
  };
}

const commandDone: Record<CommandKind, string> = {
  reload: "Nginx reloaded successfully",
  restart: "Nginx restarted successfully",
  stop: "Nginx stopped",
  get_status: "Nginx status reported",
  validate_config: "Configuration is valid",
};
const commandFailed: Record<CommandKind, string> = {
  reload: "Nginx reload failed",
  restart: "Nginx restart failed",
  stop: "Nginx stop failed",
  get_status: "Nginx status failed",
  validate_config: "Configuration is invalid",
};

/** The agent's answer to `kind`, received `at`. */
export function commandResultJson(
  kind: CommandKind,
  outcome: Omit<CommandOutcome, "id">,
  at: Date,
) {
  const message = outcome.ok
    ? commandDone[kind]
    : [commandFailed[kind], ...outcome.errors.slice(0, 1)].join(": ");
  return {
    success: outcome.ok,
    message,
    timestamp: at.toISOString(),
    ok: outcome.ok,
    errors: outcome.errors,
    nginx: outcome.status === undefined ? null : nginxJson(outcome.status),
  };
}

export const AgentListQuery = PageQuery.extend({
  state: z.enum(["online", "offline", "degraded", "all"]).optional(),
  label_selector: z.string().optional(),
});

export const AgentPatch = z.strictObject({
  name: z.string().optional(),
  labels: labels.optional(),
  workspace_id: z.string().min(1).optional().openapi({
    description:
      "Move the agent to this workspace (fleet-wide admins only); its configuration is delivered again",
  }),
});

export const JoinTokenCreate = z.strictObject({
  name: z.string().optional(),
  labels: labels.optional(),
  allow_self_labels: z.boolean().optional().openapi({
    description:
      "Adopt the labels the agent claims at join as labels selectors match (default false: they are only recorded)",
  }),
  expires_in_hours: z.number().int().min(1).max(720).optional(),
});

export const JoinToken = z
  .object({
    token: z.string(),
    agent_id: z.string().openapi({
      description: "The id the agent will have: the token reserves it",
      example: "ag-3f9c2a71b0d4",
    }),
    expires_at: z.string(),
    nonce_id: z.string().openapi({ description: "Revokes the token before it is used" }),
    join_command: z.string().openapi({
      description: "The command to run on the machine, as `drover server` prints it",
      example:
        "drover agent --server 192.168.1.10:8440 --token eyJhbGciOi… --data-dir ./agent-data",
    }),
    join_command_npx: z.string().openapi({
      description: "The same command for a machine with Node.js and no drover binary",
    }),
  })
  .openapi("JoinToken");

export const LoginBody = z.strictObject({ email: z.string(), password: z.string() });
export const RefreshBody = z.strictObject({ refresh_token: z.string() });
export const Tokens = z
  .object({
    access_token: z.string(),
    refresh_token: z.string(),
    expires_in: z.number(),
    token_type: z.literal("Bearer"),
  })
  .openapi("Tokens");
