import { z } from "@hono/zod-openapi";
import { invalidField } from "../errors/index.ts";
import { allowedDirectives } from "../nginx/index.ts";
import type {
  AccessLogRow,
  AgentFileRow,
  HealthCheckSpec,
  LocationSpec,
  TargetAgents,
  TlsCertificateRow,
  UpstreamRow,
  UpstreamServer,
  VirtualHostRow,
} from "../store/index.ts";
import { configApplyStates } from "../store/index.ts";
import {
  ACCESS_LOG_LIMIT_MAX,
  type AccessLogQuery,
  type AgentFileInput,
  type CertificateInput,
  configLimits,
  type MetricsInterval,
  type MetricsRequest,
  type MetricsWindow,
  metricsIntervals,
  type TrafficBucket as TrafficBucketRow,
  type TrafficMetrics,
  type UpstreamInput,
  type VirtualHostInput,
} from "../tenancy/index.ts";

/**
 * Request and response shapes of virtual hosts, upstreams, certificates,
 * files, access logs and metrics. Schemas check types, enums and ranges; the
 * service checks the rest (host names, paths, headers, references), naming
 * fields by the same paths.
 */

const int = (range: { min: number; max: number }) => z.number().int().min(range.min).max(range.max);

// Shared by requests and responses

const rewriteFlags = ["last", "break", "redirect", "permanent"] as const;
const algorithms = ["round_robin", "least_connections", "ip_hash", "hash"] as const;
/** Requests also take the seed's weighted_round_robin: nginx's round robin is weighted. */
const algorithmsIn = [...algorithms, "weighted_round_robin"] as const;
const providers = ["internal", "letsencrypt", "acme"] as const;

const CustomHeader = z.strictObject({
  name: z.string().openapi({ example: "X-Forwarded-Proto" }),
  value: z.string().openapi({ example: "$scheme" }),
  always: z
    .boolean()
    .optional()
    .openapi({ description: "Also on error responses (nginx's `always`); default true" }),
});

const customDirectives = z.record(z.string(), z.string()).openapi({
  example: { client_max_body_size: "10m" },
  description: `Directive name → value; names: ${allowedDirectives.join(", ")}`,
});

const Rewrite = z.strictObject({
  pattern: z.string().openapi({ example: "^/old/(.*)$" }),
  replacement: z.string().openapi({ example: "/new/$1" }),
  flag: z.enum(rewriteFlags),
});

// Virtual hosts

const LocationBody = z.strictObject({
  path: z.string().openapi({ example: "/api/v1" }),
  upstream_id: z.string().optional(),
  proxy_pass: z.string().optional().openapi({ example: "http://localhost:8080/health" }),
  root: z.string().optional().openapi({
    example: "/srv/www/site",
    description:
      "Static files: an absolute directory (no '.', '..', empty segments or '$'; at most 512 characters), instead of upstream_id or proxy_pass. Served only by agents that declare a static root (`drover agent --static-root`) containing it; other agents set the host aside",
  }),
  index: z.string().optional().openapi({
    example: "index.html index.htm",
    description: "With root: up to 8 index file names separated by single spaces",
  }),
  custom_headers: z.array(CustomHeader).max(configLimits.headers).default([]),
  rewrites: z.array(Rewrite).max(configLimits.rewrites).optional(),
  rewrite_rules: z
    .array(Rewrite)
    .max(configLimits.rewrites)
    .optional()
    .openapi({ description: "The seed's name for rewrites; give one of the two" }),
  custom_directives: customDirectives.optional(),
});

const TargetAgentsBody = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("all") }),
  z.strictObject({
    type: z.literal("selector"),
    label_selector: z.string().openapi({ example: "env=production" }),
  }),
]);

const virtualHostFields = {
  name: z.string(),
  server_name: z.string().openapi({ example: "example.com www.example.com" }),
  listen_port: int(configLimits.port),
  ssl_enabled: z.boolean(),
  ssl_certificate_id: z.string().nullable(),
  http2_enabled: z.boolean(),
  http3_enabled: z.boolean(),
  custom_directives: customDirectives.nullable().openapi({
    description: `Server-level directive name → value (null: none); names: ${allowedDirectives.join(", ")}`,
  }),
  locations: z.array(LocationBody).max(configLimits.locations),
  target_agents: TargetAgentsBody,
};

export const VirtualHostCreate = z.strictObject({
  ...virtualHostFields,
  ssl_enabled: virtualHostFields.ssl_enabled.default(false),
  ssl_certificate_id: virtualHostFields.ssl_certificate_id.optional(),
  http2_enabled: virtualHostFields.http2_enabled.default(false),
  http3_enabled: virtualHostFields.http3_enabled.default(false),
  custom_directives: virtualHostFields.custom_directives.optional(),
  locations: virtualHostFields.locations.default([]),
  target_agents: virtualHostFields.target_agents.default({ type: "all" }),
});

/** Fields given replace the stored ones (locations as a whole); null clears the certificate. */
export const VirtualHostPatch = z.strictObject({
  name: virtualHostFields.name.optional(),
  server_name: virtualHostFields.server_name.optional(),
  listen_port: virtualHostFields.listen_port.optional(),
  ssl_enabled: virtualHostFields.ssl_enabled.optional(),
  ssl_certificate_id: virtualHostFields.ssl_certificate_id.optional(),
  http2_enabled: virtualHostFields.http2_enabled.optional(),
  http3_enabled: virtualHostFields.http3_enabled.optional(),
  custom_directives: virtualHostFields.custom_directives.optional(),
  locations: virtualHostFields.locations.optional(),
  target_agents: virtualHostFields.target_agents.optional(),
});

const Location = z.object({
  path: z.string(),
  upstream_id: z.string().optional(),
  proxy_pass: z.string().optional(),
  root: z.string().optional(),
  index: z.string().optional(),
  custom_headers: z.array(z.object({ name: z.string(), value: z.string(), always: z.boolean() })),
  custom_directives: z.record(z.string(), z.string()),
  rewrites: z.array(
    z.object({ pattern: z.string(), replacement: z.string(), flag: z.enum(rewriteFlags) }),
  ),
});

const TargetAgentsJson = z.union([
  z.object({ type: z.literal("all") }),
  z.object({ type: z.literal("selector"), label_selector: z.string() }),
]);

export const VirtualHostStatus = z
  .object({
    virtual_host_id: z.string(),
    agents: z.array(
      z.object({
        agent_id: z.string(),
        status: z.enum(["applied", "pending", "set_aside"]),
        reason: z.string().nullable(),
        field: z.string().nullable(),
        config_state: z.enum(configApplyStates),
      }),
    ),
  })
  .openapi("VirtualHostStatus");

export const VirtualHost = z
  .object({
    id: z.string(),
    workspace_id: z.string(),
    name: z.string(),
    server_name: z.string(),
    listen_port: z.number(),
    ssl_enabled: z.boolean(),
    ssl_certificate_id: z.string().nullable(),
    http2_enabled: z.boolean(),
    http3_enabled: z.boolean(),
    custom_directives: z.record(z.string(), z.string()),
    locations: z.array(Location),
    target_agents: TargetAgentsJson,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("VirtualHost");

type LocationJson = z.infer<typeof LocationBody>;
type TargetJson = z.infer<typeof TargetAgentsBody>;

function locationFromJson(location: LocationJson, i: number): LocationSpec {
  if (location.rewrites !== undefined && location.rewrite_rules !== undefined) {
    throw invalidField(`locations.${i}.rewrite_rules`, "is another name for rewrites: give one");
  }
  const rewrites = location.rewrite_rules ?? location.rewrites ?? [];
  return {
    path: location.path,
    ...(location.upstream_id === undefined ? {} : { upstreamId: location.upstream_id }),
    ...(location.proxy_pass === undefined ? {} : { proxyPass: location.proxy_pass }),
    ...(location.root === undefined ? {} : { root: location.root }),
    ...(location.index === undefined ? {} : { index: location.index }),
    customHeaders: location.custom_headers.map(({ name, value, always }) => ({
      name,
      value,
      ...(always === undefined ? {} : { always }),
    })),
    ...(location.custom_directives === undefined
      ? {}
      : { customDirectives: location.custom_directives }),
    rewrites: rewrites.map(({ pattern, replacement, flag }) => ({
      pattern,
      replacement,
      flag,
    })),
  };
}

function locationJson(location: LocationSpec) {
  return {
    path: location.path,
    ...(location.upstreamId === undefined ? {} : { upstream_id: location.upstreamId }),
    ...(location.proxyPass === undefined ? {} : { proxy_pass: location.proxyPass }),
    ...(location.root === undefined ? {} : { root: location.root }),
    ...(location.index === undefined ? {} : { index: location.index }),
    custom_headers: location.customHeaders.map(({ name, value, always }) => ({
      name,
      value,
      always: always !== false,
    })),
    custom_directives: { ...location.customDirectives },
    rewrites: location.rewrites.map(({ pattern, replacement, flag }) => ({
      pattern,
      replacement,
      flag,
    })),
  };
}

function targetFromJson(target: TargetJson): TargetAgents {
  return target.type === "all"
    ? { type: "all" }
    : { type: "selector", labelSelector: target.label_selector };
}

function targetJson(target: TargetAgents) {
  return target.type === "all"
    ? { type: "all" as const }
    : { type: "selector" as const, label_selector: target.labelSelector };
}

export function virtualHostInput(body: z.infer<typeof VirtualHostCreate>): VirtualHostInput {
  return {
    name: body.name,
    serverName: body.server_name,
    listenPort: body.listen_port,
    sslEnabled: body.ssl_enabled,
    sslCertificateId: body.ssl_certificate_id ?? null,
    http2Enabled: body.http2_enabled,
    http3Enabled: body.http3_enabled,
    customDirectives: body.custom_directives ?? null,
    locations: body.locations.map(locationFromJson),
    targetAgents: targetFromJson(body.target_agents),
  };
}

export function virtualHostPatchInput(
  body: z.infer<typeof VirtualHostPatch>,
): Partial<VirtualHostInput> {
  return {
    name: body.name,
    serverName: body.server_name,
    listenPort: body.listen_port,
    sslEnabled: body.ssl_enabled,
    sslCertificateId: body.ssl_certificate_id,
    http2Enabled: body.http2_enabled,
    http3Enabled: body.http3_enabled,
    customDirectives: body.custom_directives,
    locations: body.locations?.map(locationFromJson),
    targetAgents: body.target_agents && targetFromJson(body.target_agents),
  };
}

export function virtualHostJson(row: VirtualHostRow) {
  return {
    id: row.id,
    workspace_id: row.workspaceId,
    name: row.name,
    server_name: row.serverName,
    listen_port: row.listenPort,
    ssl_enabled: row.sslEnabled,
    ssl_certificate_id: row.sslCertificateId,
    http2_enabled: row.http2Enabled,
    http3_enabled: row.http3Enabled,
    custom_directives: { ...row.customDirectives },
    locations: row.locations.map(locationJson),
    target_agents: targetJson(row.targetAgents),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

// Upstreams

const ServerBody = z.strictObject({
  address: z.string().openapi({ example: "10.0.1.20:8080" }),
  weight: int(configLimits.weight).default(1),
  backup: z.boolean().default(false),
  down: z.boolean().default(false),
  max_fails: int(configLimits.maxFails).default(1),
  fail_timeout: int(configLimits.failTimeout).default(10).openapi({ description: "Seconds" }),
});

const threshold = int(configLimits.healthThreshold);

const HealthCheckBody = z.strictObject({
  enabled: z.boolean().default(true),
  path: z.string().openapi({ example: "/health" }),
  interval: int(configLimits.healthInterval).default(10).openapi({ description: "Seconds" }),
  timeout: int(configLimits.healthTimeout)
    .default(5)
    .openapi({ description: "Seconds, less than interval" }),
  healthy_threshold: threshold
    .optional()
    .openapi({ description: "Successes that bring a server back; default 2" }),
  unhealthy_threshold: threshold
    .optional()
    .openapi({ description: "Failures that take a server down; default 3" }),
});

const upstreamFields = {
  name: z.string().openapi({ example: "api-backend" }),
  algorithm: z.enum(algorithmsIn),
  hash_key: z.string().nullable().openapi({ example: "$request_uri" }),
  servers: z.array(ServerBody).min(1).max(configLimits.servers),
  keepalive: int(configLimits.keepalive).nullable(),
  keepalive_connections: int(configLimits.keepalive)
    .nullable()
    .openapi({ description: "The seed's name for keepalive; give one of the two" }),
  health_check: HealthCheckBody.nullable(),
};

export const UpstreamCreate = z.strictObject({
  ...upstreamFields,
  algorithm: upstreamFields.algorithm.default("round_robin"),
  hash_key: upstreamFields.hash_key.optional(),
  keepalive: upstreamFields.keepalive.optional(),
  keepalive_connections: upstreamFields.keepalive_connections.optional(),
  health_check: upstreamFields.health_check.optional(),
});

/** Fields given replace the stored ones (servers as a whole); null clears an optional one. */
export const UpstreamPatch = z.strictObject({
  name: upstreamFields.name.optional(),
  algorithm: upstreamFields.algorithm.optional(),
  hash_key: upstreamFields.hash_key.optional(),
  servers: upstreamFields.servers.optional(),
  keepalive: upstreamFields.keepalive.optional(),
  keepalive_connections: upstreamFields.keepalive_connections.optional(),
  health_check: upstreamFields.health_check.optional(),
});

const Server = z.object({
  address: z.string(),
  weight: z.number(),
  backup: z.boolean(),
  down: z.boolean(),
  max_fails: z.number(),
  fail_timeout: z.number(),
});

const HealthCheck = z.object({
  enabled: z.boolean(),
  path: z.string(),
  interval: z.number(),
  timeout: z.number(),
  healthy_threshold: z.number().optional(),
  unhealthy_threshold: z.number().optional(),
});

export const Upstream = z
  .object({
    id: z.string(),
    workspace_id: z.string(),
    name: z.string(),
    algorithm: z.enum(algorithms),
    hash_key: z.string().nullable(),
    servers: z.array(Server),
    keepalive: z.number().nullable(),
    health_check: HealthCheck.nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Upstream");

type ServerJson = z.infer<typeof ServerBody>;
type HealthCheckJson = z.infer<typeof HealthCheckBody>;

function serverFromJson(server: ServerJson): UpstreamServer {
  return {
    address: server.address,
    weight: server.weight,
    backup: server.backup,
    down: server.down,
    maxFails: server.max_fails,
    failTimeout: server.fail_timeout,
  };
}

function healthCheckFromJson(check: HealthCheckJson | null): HealthCheckSpec | null {
  if (check === null) return null;
  const { healthy_threshold, unhealthy_threshold, ...rest } = check;
  return {
    ...rest,
    ...(healthy_threshold === undefined ? {} : { healthyThreshold: healthy_threshold }),
    ...(unhealthy_threshold === undefined ? {} : { unhealthyThreshold: unhealthy_threshold }),
  };
}

type AlgorithmIn = (typeof algorithmsIn)[number];

function algorithmFromJson(algorithm: AlgorithmIn): UpstreamRow["algorithm"] {
  return algorithm === "weighted_round_robin" ? "round_robin" : algorithm;
}

/** keepalive under either name; undefined: not given. */
function keepaliveFromJson(body: {
  keepalive?: number | null;
  keepalive_connections?: number | null;
}): number | null | undefined {
  if (body.keepalive !== undefined && body.keepalive_connections !== undefined) {
    throw invalidField("keepalive_connections", "is another name for keepalive: give one");
  }
  return body.keepalive_connections !== undefined ? body.keepalive_connections : body.keepalive;
}

export function upstreamInput(body: z.infer<typeof UpstreamCreate>): UpstreamInput {
  return {
    name: body.name,
    algorithm: algorithmFromJson(body.algorithm),
    hashKey: body.hash_key ?? null,
    servers: body.servers.map(serverFromJson),
    keepalive: keepaliveFromJson(body) ?? null,
    healthCheck: healthCheckFromJson(body.health_check ?? null),
  };
}

export function upstreamPatchInput(body: z.infer<typeof UpstreamPatch>): Partial<UpstreamInput> {
  return {
    name: body.name,
    algorithm: body.algorithm && algorithmFromJson(body.algorithm),
    hashKey: body.hash_key,
    servers: body.servers?.map(serverFromJson),
    keepalive: keepaliveFromJson(body),
    healthCheck:
      body.health_check === undefined ? undefined : healthCheckFromJson(body.health_check),
  };
}

export function upstreamJson(row: UpstreamRow) {
  return {
    id: row.id,
    workspace_id: row.workspaceId,
    name: row.name,
    algorithm: row.algorithm,
    hash_key: row.hashKey,
    servers: row.servers.map((server) => ({
      address: server.address,
      weight: server.weight,
      backup: server.backup,
      down: server.down,
      max_fails: server.maxFails,
      fail_timeout: server.failTimeout,
    })),
    keepalive: row.keepalive,
    health_check: row.healthCheck && {
      enabled: row.healthCheck.enabled,
      path: row.healthCheck.path,
      interval: row.healthCheck.interval,
      timeout: row.healthCheck.timeout,
      ...(row.healthCheck.healthyThreshold === undefined
        ? {}
        : { healthy_threshold: row.healthCheck.healthyThreshold }),
      ...(row.healthCheck.unhealthyThreshold === undefined
        ? {}
        : { unhealthy_threshold: row.healthCheck.unhealthyThreshold }),
    },
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

// Certificates

export const CertificateCreate = z.strictObject({
  domain: z.string().openapi({ example: "api.example.com" }),
  provider: z.enum(providers),
  auto_renew: z.boolean().default(true),
});

export const Certificate = z
  .object({
    id: z.string(),
    workspace_id: z.string(),
    domain: z.string(),
    is_wildcard: z.boolean(),
    provider: z.enum(providers),
    status: z.enum(["pending", "active", "failed", "expired", "revoked"]),
    status_message: z.string().nullable().openapi({ description: "Why the last issuance failed" }),
    issued_at: z.string().nullable(),
    expires_at: z.string().nullable(),
    auto_renew: z.boolean(),
    created_at: z.string(),
  })
  .openapi("Certificate");

export function certificateInput(body: z.infer<typeof CertificateCreate>): CertificateInput {
  return { domain: body.domain, provider: body.provider, autoRenew: body.auto_renew };
}

export function certificateJson(row: TlsCertificateRow) {
  return {
    id: row.id,
    workspace_id: row.workspaceId,
    domain: row.domain,
    is_wildcard: row.isWildcard,
    provider: row.provider,
    status: row.status,
    status_message: row.statusMessage,
    issued_at: row.issuedAt?.toISOString() ?? null,
    expires_at: row.expiresAt?.toISOString() ?? null,
    auto_renew: row.autoRenew,
    created_at: row.createdAt.toISOString(),
  };
}

// Files

const fileKinds = ["file", "secret", "env_template"] as const;

const fileFields = {
  name: z.string().openapi({
    example: "api-token",
    description: `1-100 letters, digits, '.', '_' or '-'; what \${secret.NAME} names`,
  }),
  path: z.string().openapi({
    example: "app/app.env",
    description:
      "Relative POSIX path under the agent's file root; not under nginx/, certs/ or keys/",
  }),
  mode: z
    .number()
    .int()
    .min(0o400)
    .max(0o777)
    .openapi({ example: 0o640, description: "Permission bits as a number: 416 is 0640" }),
  kind: z.enum(fileKinds).openapi({
    description: `file; secret (its content is never returned); env_template (rendered per agent: \${agent.id|name|hostname|ip}, \${labels.KEY}, \${secret.NAME}, $$ for a literal $)`,
  }),
  content: z.string().openapi({ description: "Text, at most 1 MiB of UTF-8" }),
  target_agents: TargetAgentsBody,
};

export const AgentFileCreate = z.strictObject({
  ...fileFields,
  mode: fileFields.mode
    .optional()
    .openapi({ description: "Default 0600 (384) for a secret, else 0644 (420)" }),
  kind: fileFields.kind.default("file"),
  target_agents: fileFields.target_agents.default({ type: "all" }),
});

/** Fields given replace the stored ones; the kind cannot change. */
export const AgentFilePatch = z.strictObject({
  name: fileFields.name.optional(),
  path: fileFields.path.optional(),
  mode: fileFields.mode.optional(),
  content: fileFields.content.optional(),
  target_agents: fileFields.target_agents.optional(),
});

export const AgentFile = z
  .object({
    id: z.string(),
    workspace_id: z.string(),
    name: z.string(),
    path: z.string(),
    mode: z.number(),
    kind: z.enum(fileKinds),
    content: z
      .string()
      .nullable()
      .openapi({ description: "null for a secret; an env template's template, not a rendering" }),
    content_redacted: z.boolean(),
    target_agents: TargetAgentsJson,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("AgentFile");

export function fileInput(body: z.infer<typeof AgentFileCreate>): AgentFileInput {
  return {
    name: body.name,
    path: body.path,
    mode: body.mode ?? (body.kind === "secret" ? 0o600 : 0o644),
    kind: body.kind,
    content: body.content,
    targetAgents: targetFromJson(body.target_agents),
  };
}

export function filePatchInput(body: z.infer<typeof AgentFilePatch>): Partial<AgentFileInput> {
  return {
    name: body.name,
    path: body.path,
    mode: body.mode,
    content: body.content,
    targetAgents: body.target_agents && targetFromJson(body.target_agents),
  };
}

/** A secret's content never leaves the server. */
export function fileJson(row: AgentFileRow) {
  const redacted = row.kind === "secret";
  return {
    id: row.id,
    workspace_id: row.workspaceId,
    name: row.name,
    path: row.path,
    mode: row.mode,
    kind: row.kind,
    content: redacted ? null : row.content,
    content_redacted: redacted,
    target_agents: targetJson(row.targetAgents),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

// Access logs and metrics

const timestamp = z.iso
  .datetime({ offset: true })
  .openapi({ example: "2026-03-01T00:00:00Z", description: "RFC 3339" });

export const AccessLogListQuery = z.strictObject({
  from: timestamp.optional(),
  to: timestamp.optional(),
  status_code: z.coerce.number().int().min(100).max(599).optional(),
  host: z
    .string()
    .min(1)
    .max(253)
    .optional()
    .openapi({ example: "example.com", description: "Only requests for this host name" }),
  agent_id: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .openapi({ example: "ag-0123456789ab", description: "Only requests this agent served" }),
  limit: z.coerce.number().int().min(1).max(ACCESS_LOG_LIMIT_MAX).default(100),
});

/** Both bounds optional (NxMesh): `to` defaults to now, `from` to 24 hours before `to`. */
export const MetricsQuery = z.strictObject({
  from: timestamp.optional(),
  to: timestamp.optional(),
});

const dateOf = (text: string | undefined) => (text === undefined ? undefined : new Date(text));

export function accessLogQuery(query: z.infer<typeof AccessLogListQuery>): AccessLogQuery {
  return {
    from: dateOf(query.from),
    to: dateOf(query.to),
    status: query.status_code,
    host: query.host,
    agentId: query.agent_id,
    limit: query.limit,
  };
}

export function timeWindow(query: z.infer<typeof MetricsQuery>): MetricsWindow {
  return { from: dateOf(query.from), to: dateOf(query.to) };
}

/** The traffic metrics' query: with `interval`, the answer carries the series. */
export const TrafficMetricsQuery = MetricsQuery.extend({
  interval: z
    .enum(Object.keys(metricsIntervals) as [MetricsInterval, ...MetricsInterval[]])
    .optional()
    .openapi({
      description:
        "Bucket width of the `series` in the answer; at most 500 buckets in the window. Without it, no series.",
    }),
});

export function metricsRequest(query: z.infer<typeof TrafficMetricsQuery>): MetricsRequest {
  return { ...timeWindow(query), interval: query.interval };
}

export const AccessLog = z
  .object({
    id: z.string(),
    agent_id: z.string(),
    timestamp: z.string(),
    remote_addr: z.string(),
    method: z.string(),
    uri: z.string(),
    protocol: z.string(),
    host: z.string(),
    status: z.number(),
    body_bytes_sent: z.number(),
    response_time_ms: z.number(),
    user_agent: z.string().nullable(),
    referer: z.string().nullable(),
    request_id: z.string().nullable(),
  })
  .openapi("AccessLog");

export const AccessLogPage = z.object({
  data: z.array(AccessLog),
  meta: z.object({ total: z.number(), limit: z.number() }),
});

export function accessLogJson(row: AccessLogRow) {
  return {
    id: row.id,
    agent_id: row.agentId,
    timestamp: row.timestamp.toISOString(),
    remote_addr: row.remoteAddr,
    method: row.method,
    uri: row.uri,
    protocol: row.protocol,
    host: row.host,
    status: row.status,
    body_bytes_sent: row.bodyBytesSent,
    response_time_ms: row.responseTimeMs,
    user_agent: row.userAgent,
    referer: row.referer,
    request_id: row.requestId,
  };
}

const StatusCodes = z.object({
  "2xx": z.number(),
  "3xx": z.number(),
  "4xx": z.number(),
  "5xx": z.number(),
});

const TrafficBucket = z
  .object({
    from: z.string().openapi({ description: "Inclusive" }),
    to: z.string().openapi({ description: "Exclusive; the last bucket ends with the window" }),
    requests_total: z.number(),
    errors_total: z.number().openapi({ description: "5xx responses, as error_rate counts them" }),
    in_bytes: z.number(),
    out_bytes: z.number(),
    status_codes: StatusCodes,
  })
  .openapi("TrafficBucket");

export const Metrics = z
  .object({
    requests_total: z.number(),
    requests_per_second: z.number(),
    error_rate: z.number(),
    active_connections: z.number().openapi({
      description: "Connections open in the agents' nginx at their latest health report",
    }),
    bandwidth: z.object({
      in_bytes: z.number().openapi({
        description:
          "Sum of the requests' sizes (nginx $request_length: request line, headers and body)",
      }),
      out_bytes: z.number(),
    }),
    status_codes: StatusCodes,
    series: z.array(TrafficBucket).optional().openapi({
      description:
        "With `interval` only: every bucket of the window in order, empty ones included; they sum to the totals.",
    }),
  })
  .openapi("Metrics");

function trafficBucketJson(bucket: TrafficBucketRow) {
  return {
    from: bucket.from.toISOString(),
    to: bucket.to.toISOString(),
    requests_total: bucket.requestsTotal,
    errors_total: bucket.errorsTotal,
    in_bytes: bucket.inBytes,
    out_bytes: bucket.outBytes,
    status_codes: { ...bucket.statusCodes },
  };
}

export function metricsJson(metrics: TrafficMetrics) {
  return {
    requests_total: metrics.requestsTotal,
    requests_per_second: metrics.requestsPerSecond,
    error_rate: metrics.errorRate,
    active_connections: metrics.activeConnections,
    bandwidth: { in_bytes: metrics.bandwidth.inBytes, out_bytes: metrics.bandwidth.outBytes },
    status_codes: { ...metrics.statusCodes },
    ...(metrics.series ? { series: metrics.series.map(trafficBucketJson) } : {}),
  };
}
