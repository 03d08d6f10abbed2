/**
 * The one SQLite schema, shared by the bun:sqlite and libsql drivers.
 * Timestamps are integer milliseconds since the epoch; JSON columns are text.
 * Changing this file means `npm run db:generate` and `npm run db:embed`.
 */
import { sql } from "drizzle-orm";
import {
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";
import type { Selector } from "../selector/types.ts";

export type Role = "agent" | "operator";
export type AgentState = "online" | "offline" | "degraded";
export type HealthSnapshot = Record<string, unknown>;
export type MembershipRole = "owner" | "admin" | "viewer";
/** The scope of a fleet-wide membership, covering every organization. */
export const FLEET_SCOPE = "*";

export const certificates = sqliteTable(
  "certificates",
  {
    serial: text("serial").primaryKey(),
    subjectId: text("subject_id").notNull(),
    role: text("role", { enum: ["agent", "operator"] }).notNull(),
    notAfter: integer("not_after", { mode: "timestamp_ms" }).notNull(),
    issuedAt: integer("issued_at", { mode: "timestamp_ms" }).notNull(),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  // revokeBySubject runs on every agent removal.
  (t) => [index("certificates_subject_id_idx").on(t.subjectId)],
);

export const joinTokens = sqliteTable("join_tokens", {
  nonceId: text("nonce_id").primaryKey(),
  role: text("role", { enum: ["agent", "operator"] }).notNull(),
  labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
  name: text("name"),
  createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  usedAt: integer("used_at", { mode: "timestamp_ms" }),
  usedBy: text("used_by"),
  revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  // No foreign key: the agent it admits may join after its workspace is gone.
  workspaceId: text("workspace_id"),
  /** Whether the labels an agent claims at join are adopted as its own (targeting) labels. */
  allowSelfLabels: integer("allow_self_labels", { mode: "boolean" }).notNull().default(false),
});

/** How an agent runs (NxMesh's DeploymentMode). */
export const deploymentModes = ["standalone", "docker_sidecar", "kubernetes_sidecar"] as const;
export type DeploymentMode = (typeof deploymentModes)[number];

export const agents = sqliteTable(
  "agents",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    hostname: text("hostname").notNull(),
    ip: text("ip").notNull(),
    version: text("version").notNull(),
    /** The operator's labels (token, PATCH): the only ones selectors match. */
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
    /** What the agent claimed at join (`--label`): shown, never matched unless its token adopted them into labels. */
    claimedLabels: text("claimed_labels", { mode: "json" })
      .$type<Record<string, string>>()
      .notNull()
      .default({}),
    capabilities: text("capabilities", { mode: "json" }).$type<string[]>().notNull(),
    /** How the agent runs, as it reported at join (NxMesh `deployment_mode`). */
    deploymentMode: text("deployment_mode", { enum: deploymentModes })
      .notNull()
      .default("standalone"),
    state: text("state", { enum: ["online", "offline", "degraded"] }).notNull(),
    lastSeenAt: integer("last_seen_at", { mode: "timestamp_ms" }),
    lastHealth: text("last_health", { mode: "json" }).$type<HealthSnapshot>(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
    // Deleting a workspace leaves its agents running, just unassigned.
    workspaceId: text("workspace_id").references(() => workspaces.id, { onDelete: "set null" }),
  },
  (t) => [
    index("agents_state_idx").on(t.state),
    // With id, a workspace's selector queries are answered in id order with
    // no sort, and count() never reads the rows; it also serves the cascade.
    index("agents_workspace_id_id_idx").on(t.workspaceId, t.id),
  ],
);

/**
 * agents.labels, one row per label, so that selectors use an index instead
 * of json_extract over every agent. The agents repository rewrites an
 * agent's rows in the same atomic step as every write of its labels.
 */
export const agentLabels = sqliteTable(
  "agent_labels",
  {
    agentId: text("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  (t) => [
    // Also serves the rewrite of one agent's labels and the cascade.
    primaryKey({ columns: [t.agentId, t.key] }),
    // agent_id makes it covering: the table is a rowid table, so an index on
    // (key, value) alone would read a table row per selected agent.
    index("agent_labels_key_value_idx").on(t.key, t.value, t.agentId),
  ],
);

export const events = sqliteTable("events", {
  // AUTOINCREMENT: seq is never reused, even after old events are pruned,
  // so a watcher's resume cursor stays meaningful.
  seq: integer("seq").primaryKey({ autoIncrement: true }),
  type: text("type").notNull(),
  subjectId: text("subject_id").notNull(),
  // Nullable because drizzle binds a null JSON value as SQL NULL.
  data: text("data", { mode: "json" }).$type<unknown>(),
  at: integer("at", { mode: "timestamp_ms" }).notNull(),
});

// Management: the REST API's users, organizations and workspaces.

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    /** Always lowercase: the repository folds case on insert and lookup. */
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    /** Set for a password someone else chose (the first admin's); cleared when the user changes it. */
    passwordChangeRequired: integer("password_change_required", { mode: "boolean" })
      .notNull()
      .default(false),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("users_email_unique").on(t.email)],
);

export const organizations = sqliteTable(
  "organizations",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("organizations_slug_unique").on(t.slug)],
);

export const memberships = sqliteTable(
  "memberships",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // An organization id or "*" (fleet-wide). Not a foreign key because of
    // "*", and not NULL so the primary key also covers fleet-wide rows;
    // organizations.delete removes an organization's memberships itself.
    scope: text("scope").notNull(),
    role: text("role", { enum: ["owner", "admin", "viewer"] }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.scope] }),
    // organizations.delete looks memberships up by scope.
    index("memberships_scope_idx").on(t.scope),
  ],
);

/** NxMesh's GlobalSettings: http-level nginx directives and nginx's environment. */
export interface GlobalSettings {
  nginxDirectives: Record<string, string>;
  envVars: Record<string, string>;
}

/** When a percentage alert fires (`warning`), escalates (`critical`) and clears. */
export interface AlertThreshold {
  warning: number;
  critical?: number;
  clear: number;
}

export type AlertThresholds = Partial<
  Record<"cpu_percent" | "memory_percent" | "disk_percent", AlertThreshold>
>;

export const workspaces = sqliteTable(
  "workspaces",
  {
    id: text("id").primaryKey(),
    organizationId: text("organization_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    slug: text("slug").notNull(),
    /** NxMesh's GlobalSettings for every agent of the workspace; null: none. */
    globalSettings: text("global_settings", { mode: "json" }).$type<GlobalSettings>(),
    /** Replaces the default alert thresholds per metric; null: the defaults. */
    alertThresholds: text("alert_thresholds", { mode: "json" }).$type<AlertThresholds>(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  // Leading with organization_id, this also serves lookups and the cascade
  // by organization: a separate index on it would be redundant.
  (t) => [uniqueIndex("workspaces_organization_id_slug_unique").on(t.organizationId, t.slug)],
);

export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    /** SHA-256 hex of the token; the token itself is never stored. */
    id: text("id").primaryKey(),
    familyId: text("family_id").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    usedAt: integer("used_at", { mode: "timestamp_ms" }),
    revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    index("refresh_tokens_family_id_idx").on(t.familyId),
    // Without it, deleting a user scans the table for the cascade.
    index("refresh_tokens_user_id_idx").on(t.userId),
  ],
);

// Configuration: what agents' nginx serves. Records only; compiling them to
// nginx configuration and issuing certificates come later.

export type TlsProvider = "internal" | "letsencrypt" | "acme";
export type TlsCertificateStatus = "pending" | "active" | "failed" | "expired" | "revoked";
export type UpstreamAlgorithm = "round_robin" | "least_connections" | "ip_hash" | "hash";
export type RewriteFlag = "last" | "break" | "redirect" | "permanent";

export interface CustomHeader {
  name: string;
  /** May hold nginx variables ($scheme, $host, …). */
  value: string;
}

export interface RewriteRule {
  pattern: string;
  replacement: string;
  flag: RewriteFlag;
}

/** One `location` of a virtual host: exactly one of upstreamId and proxyPass. */
export interface LocationSpec {
  path: string;
  upstreamId?: string;
  proxyPass?: string;
  customHeaders: CustomHeader[];
  rewrites: RewriteRule[];
}

/** The agents a virtual host is deployed to; labelSelector is the text parseSelector takes. */
export type TargetAgents = { type: "all" } | { type: "selector"; labelSelector: string };

export interface UpstreamServer {
  /** host:port; an IPv6 host is bracketed. */
  address: string;
  weight: number;
  backup: boolean;
  down: boolean;
  maxFails: number;
  /** Seconds. */
  failTimeout: number;
}

export interface HealthCheckSpec {
  enabled: boolean;
  path: string;
  /** Seconds. */
  interval: number;
  /** Seconds, less than interval. */
  timeout: number;
}

/**
 * TLS certificates served by virtual hosts: not the fleet's own mTLS
 * certificates (table `certificates`).
 */
export const tlsCertificates = sqliteTable(
  "tls_certificates",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    /** Lowercase; "*.example.com" for a wildcard. */
    domain: text("domain").notNull(),
    isWildcard: integer("is_wildcard", { mode: "boolean" }).notNull(),
    provider: text("provider", { enum: ["internal", "letsencrypt", "acme"] }).notNull(),
    status: text("status", {
      enum: ["pending", "active", "failed", "expired", "revoked"],
    }).notNull(),
    /** Why the last issuance failed (status failed); null otherwise. */
    statusMessage: text("status_message"),
    issuedAt: integer("issued_at", { mode: "timestamp_ms" }),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    autoRenew: integer("auto_renew", { mode: "boolean" }).notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  // Leading with workspace_id, it also serves lists and the cascade by workspace.
  (t) => [uniqueIndex("tls_certificates_workspace_id_domain_unique").on(t.workspaceId, t.domain)],
);

export const upstreams = sqliteTable(
  "upstreams",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    algorithm: text("algorithm", {
      enum: ["round_robin", "least_connections", "ip_hash", "hash"],
    }).notNull(),
    /** Set exactly when algorithm is "hash". */
    hashKey: text("hash_key"),
    servers: text("servers", { mode: "json" }).$type<UpstreamServer[]>().notNull(),
    keepalive: integer("keepalive"),
    healthCheck: text("health_check", { mode: "json" }).$type<HealthCheckSpec>(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [uniqueIndex("upstreams_workspace_id_name_unique").on(t.workspaceId, t.name)],
);

export const virtualHosts = sqliteTable(
  "virtual_hosts",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** Space-separated host names, as nginx's server_name takes them. */
    serverName: text("server_name").notNull(),
    listenPort: integer("listen_port").notNull(),
    sslEnabled: integer("ssl_enabled", { mode: "boolean" }).notNull(),
    // No action: a certificate in use cannot be deleted (the service says
    // which virtual host uses it); deleting the workspace removes both.
    sslCertificateId: text("ssl_certificate_id").references(() => tlsCertificates.id),
    http2Enabled: integer("http2_enabled", { mode: "boolean" }).notNull(),
    http3Enabled: integer("http3_enabled", { mode: "boolean" }).notNull(),
    /** Server-level directives (allow-listed names); null: none. */
    customDirectives: text("custom_directives", { mode: "json" }).$type<Record<string, string>>(),
    /** Upstream references live in here, so upstreams.delete cannot be a foreign key. */
    locations: text("locations", { mode: "json" }).$type<LocationSpec[]>().notNull(),
    targetAgents: text("target_agents", { mode: "json" }).$type<TargetAgents>().notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    uniqueIndex("virtual_hosts_workspace_id_name_unique").on(t.workspaceId, t.name),
    index("virtual_hosts_ssl_certificate_id_idx").on(t.sslCertificateId),
  ],
);

/** Requests served by agents' nginx, shipped in batches. */
export const accessLogs = sqliteTable(
  "access_logs",
  {
    id: text("id").primaryKey(),
    // Not a foreign key: an agent's history outlives its removal.
    agentId: text("agent_id").notNull(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    timestamp: integer("timestamp", { mode: "timestamp_ms" }).notNull(),
    remoteAddr: text("remote_addr").notNull(),
    method: text("method").notNull(),
    uri: text("uri").notNull(),
    protocol: text("protocol").notNull(),
    host: text("host").notNull(),
    status: integer("status").notNull(),
    bodyBytesSent: integer("body_bytes_sent").notNull(),
    /** nginx's $request_length: request line, headers and body. 0 for rows from before it was logged. */
    requestBytes: integer("request_bytes").notNull().default(0),
    responseTimeMs: real("response_time_ms").notNull(),
    userAgent: text("user_agent"),
    referer: text("referer"),
    requestId: text("request_id"),
  },
  (t) => [
    index("access_logs_workspace_id_timestamp_idx").on(t.workspaceId, t.timestamp),
    index("access_logs_agent_id_timestamp_idx").on(t.agentId, t.timestamp),
  ],
);

export type AgentMetricType = "gauge" | "counter" | "histogram";

/** Metrics an agent pushes (NxMesh's MetricsBatch), one row per sample. */
export const agentMetrics = sqliteTable(
  "agent_metrics",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    // Not a foreign key: an agent's history outlives its removal.
    agentId: text("agent_id").notNull(),
    workspaceId: text("workspace_id").references(() => workspaces.id, { onDelete: "cascade" }),
    timestamp: integer("timestamp", { mode: "timestamp_ms" }).notNull(),
    name: text("name").notNull(),
    value: real("value").notNull(),
    type: text("type", { enum: ["gauge", "counter", "histogram"] }).notNull(),
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
  },
  (t) => [
    index("agent_metrics_agent_id_name_timestamp_idx").on(t.agentId, t.name, t.timestamp),
    index("agent_metrics_workspace_id_timestamp_idx").on(t.workspaceId, t.timestamp),
    index("agent_metrics_timestamp_idx").on(t.timestamp),
  ],
);

/** The agent's own log entries (NxMesh's LogBatch), not nginx's access log. */
export const agentLogs = sqliteTable(
  "agent_logs",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    agentId: text("agent_id").notNull(),
    workspaceId: text("workspace_id").references(() => workspaces.id, { onDelete: "cascade" }),
    timestamp: integer("timestamp", { mode: "timestamp_ms" }).notNull(),
    level: text("level", { enum: ["debug", "info", "warn", "error"] }).notNull(),
    message: text("message").notNull(),
    fields: text("fields", { mode: "json" }).$type<Record<string, string>>().notNull(),
  },
  (t) => [
    index("agent_logs_agent_id_timestamp_idx").on(t.agentId, t.timestamp),
    index("agent_logs_workspace_id_timestamp_idx").on(t.workspaceId, t.timestamp),
    index("agent_logs_timestamp_idx").on(t.timestamp),
  ],
);

/** A delivery's states, in the order it passes them (NxMesh's ConfigApplyStatus). */
export const configApplyStates = [
  "pending",
  "validating",
  "applying",
  "success",
  "failed",
  "rolled_back",
] as const;
export type ConfigApplyState = (typeof configApplyStates)[number];

/** One apply step as the agent reported it. */
export interface ConfigApplyStep {
  name: string;
  ok: boolean;
  durationMs: number;
  detail?: string;
}

/** What became of one virtual host in the agent's desired configuration. */
export interface ConfigHostOutcome {
  id: string;
  status: "applied" | "set_aside";
  reason?: string;
  field?: string;
}

/** An agent file targeted at the agent but not delivered to it, and why. */
export interface ConfigFileOutcome {
  id: string;
  path: string;
  status: "set_aside";
  reason: string;
}

/**
 * Each agent's configuration: the version the server wants it to hold, the
 * last one it applied, and the state of the latest delivery. One row per
 * agent (history is in the events).
 */
export const agentConfigStatus = sqliteTable("agent_config_status", {
  agentId: text("agent_id")
    .primaryKey()
    .references(() => agents.id, { onDelete: "cascade" }),
  desiredVersion: text("desired_version").notNull(),
  /**
   * The NxMesh config version: a per-agent counter, one more each time
   * desiredVersion (a content hash) changes, so clients can order versions.
   */
  desiredRevision: integer("desired_revision").notNull().default(0),
  /** The version of the latest delivery, which `state` is about. */
  version: text("version").notNull(),
  revision: integer("revision").notNull().default(0),
  state: text("state", { enum: configApplyStates }).notNull(),
  /** The last version applied with success; null before the first. */
  appliedVersion: text("applied_version"),
  appliedRevision: integer("applied_revision"),
  appliedAt: integer("applied_at", { mode: "timestamp_ms" }),
  durationMs: integer("duration_ms"),
  errors: text("errors", { mode: "json" }).$type<string[]>().notNull(),
  steps: text("steps", { mode: "json" }).$type<ConfigApplyStep[]>().notNull(),
  hosts: text("hosts", { mode: "json" }).$type<ConfigHostOutcome[]>().notNull(),
  /** Agent files targeted at the agent that it is not given (set aside), with the reason. */
  files: text("files", { mode: "json" }).$type<ConfigFileOutcome[]>().notNull().default([]),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
});

/**
 * TLS certificates the fleet CA issued to one agent for an internal
 * certificate record: the agent generated the key (KeyGenRequests) and keeps
 * it at keyPath; only the certificate is here. One row per agent and record.
 */
export const agentTlsCertificates = sqliteTable(
  "agent_tls_certificates",
  {
    agentId: text("agent_id")
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    certificateId: text("certificate_id")
      .notNull()
      .references(() => tlsCertificates.id, { onDelete: "cascade" }),
    /** Relative to the agent's file root. */
    keyPath: text("key_path").notNull(),
    certificatePem: text("certificate_pem").notNull(),
    serial: text("serial").notNull(),
    notBefore: integer("not_before", { mode: "timestamp_ms" }).notNull(),
    notAfter: integer("not_after", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.agentId, t.certificateId] })],
);

export type AgentFileKind = "file" | "secret" | "env_template";

/**
 * Files delivered to agents besides Drover's own (nginx, certificates):
 * plain files, secrets and env files rendered from templates, each at a path
 * under the agent's file root, to the agents its target_agents selects.
 * Secrets are stored as given (the store is the server's trust boundary).
 */
export const agentFiles = sqliteTable(
  "agent_files",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** Relative POSIX path under the agent's file root. */
    path: text("path").notNull(),
    /** Permission bits, 0o400–0o777. */
    mode: integer("mode").notNull(),
    kind: text("kind", { enum: ["file", "secret", "env_template"] }).notNull(),
    /** The file's text; for env_template, the template. */
    content: text("content").notNull(),
    targetAgents: text("target_agents", { mode: "json" }).$type<TargetAgents>().notNull(),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [
    // Leading with workspace_id, each also serves lists and the cascade by workspace.
    uniqueIndex("agent_files_workspace_id_name_unique").on(t.workspaceId, t.name),
    uniqueIndex("agent_files_workspace_id_path_unique").on(t.workspaceId, t.path),
  ],
);

// Hardware leases (issue 14): exporters, leases and their policies.

/**
 * An agent that runs as a Jumpstarter exporter. Its name, workspace and the
 * labels selectors match are the agent's own (read through a join), so an
 * operator's relabelling applies at once; this row keeps what only an
 * exporter has. fencing_token is the last token granted on it: bumped in the
 * granting write, never reset (agent ids are random and never reused).
 */
export const exporters = sqliteTable(
  "exporters",
  {
    agentId: text("agent_id")
      .primaryKey()
      .references(() => agents.id, { onDelete: "cascade" }),
    claimedLabels: text("claimed_labels", { mode: "json" })
      .$type<Record<string, string>>()
      .notNull(),
    reports: text("reports", { mode: "json" }).$type<StoredDriverReport[]>().notNull(),
    online: integer("online", { mode: "boolean" }).notNull().default(false),
    status: text("status").notNull(),
    statusMessage: text("status_message").notNull().default(""),
    statusVersion: integer("status_version").notNull().default(0),
    previousStatus: text("previous_status"),
    leaseName: text("lease_name"),
    fencingToken: integer("fencing_token").notNull().default(0),
    offlineSince: integer("offline_since", { mode: "timestamp_ms" }),
    registeredAt: integer("registered_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  },
  // Two grants of one lease on different exporters would both pass their own row's guard.
  (t) => [uniqueIndex("exporters_lease_name_unique").on(t.leaseName)],
);

/** One driver instance as an exporter reported it (the seed's DriverInstanceReport). */
export interface StoredDriverReport {
  uuid: string;
  parentUuid?: string;
  labels: Record<string, string>;
  description?: string;
  methodsDescription: Record<string, string>;
}

/** One Kubernetes-style condition of a lease, as stored (times in ms). */
export interface StoredLeaseCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: number;
}

/**
 * Leases, kept after they end (the audit of who held what, when). sequence is
 * the request order: AUTOINCREMENT, so never reused. No foreign keys: a lease
 * outlives its exporter, its client and its workspace as history; the
 * scheduler ends the live ones those removals strand.
 */
export const leases = sqliteTable(
  "leases",
  {
    sequence: integer("sequence").primaryKey({ autoIncrement: true }),
    name: text("name").notNull(),
    workspaceId: text("workspace_id").notNull(),
    organizationId: text("organization_id").notNull(),
    client: text("client").notNull(),
    selector: text("selector", { mode: "json" }).$type<Selector>().notNull(),
    durationMs: integer("duration_ms").notNull(),
    notBefore: integer("not_before", { mode: "timestamp_ms" }),
    priority: integer("priority").notNull(),
    requestedAt: integer("requested_at", { mode: "timestamp_ms" }).notNull(),
    phase: text("phase", { enum: ["Pending", "Ready", "Ended"] }).notNull(),
    reason: text("reason").notNull(),
    message: text("message").notNull().default(""),
    exporterId: text("exporter_id"),
    fencingToken: integer("fencing_token"),
    beginTime: integer("begin_time", { mode: "timestamp_ms" }),
    endTime: integer("end_time", { mode: "timestamp_ms" }),
    endedAt: integer("ended_at", { mode: "timestamp_ms" }),
    conditions: text("conditions", { mode: "json" }).$type<StoredLeaseCondition[]>().notNull(),
    /** When lease.expiring was sent for the current end; cleared by an extension. */
    warnedAt: integer("warned_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    uniqueIndex("leases_name_unique").on(t.name),
    // The queue in service order, and the live leases the scheduler reads.
    index("leases_phase_priority_sequence_idx").on(t.phase, t.priority, t.sequence),
    index("leases_workspace_id_sequence_idx").on(t.workspaceId, t.sequence),
    index("leases_client_phase_idx").on(t.client, t.phase),
    // A second guard beside the exporter row's: one Ready lease per exporter.
    uniqueIndex("leases_ready_exporter_unique").on(t.exporterId).where(sql`${t.phase} = 'Ready'`),
  ],
);

/** Who may lease which exporters of a workspace; none stored: the default policy. */
export const leasePolicies = sqliteTable(
  "lease_policies",
  {
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** Order within the workspace, as set. */
    position: integer("position").notNull(),
    principals: text("principals", { mode: "json" }).$type<string[]>().notNull(),
    exporterSelector: text("exporter_selector", { mode: "json" }).$type<Selector>().notNull(),
    maxDurationMs: integer("max_duration_ms").notNull(),
    maxPriority: integer("max_priority").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.name] })],
);
