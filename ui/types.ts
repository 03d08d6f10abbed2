/** The REST shapes the pages read (a subset of /v1/openapi.json). */
export interface Me {
  user: { id: string; email: string } | null;
  password_change_required: boolean;
  memberships: { organization_id: string; role: string }[];
  fleet_role: "admin" | "owner" | null;
}

export interface Organization {
  id: string;
  name: string;
}

export interface Workspace {
  id: string;
  organization_id: string;
  name: string;
}

export type AgentState = "online" | "offline" | "degraded";

export interface AgentHealth {
  cpu_percent: number;
  memory_used_mb: number;
  memory_total_mb: number;
  disk_used_mb: number;
  disk_total_mb: number;
  load_average: number[];
  uptime_seconds: number;
  observed_at: string;
  nginx_status: "running" | "stopped" | "unknown";
  active_connections: number;
  requests_per_second: number;
  checks: { name: string; ok: boolean; message: string }[];
}

export interface Agent {
  id: string;
  workspace_id: string;
  name: string;
  hostname: string;
  ip_address: string;
  version: string;
  state: AgentState;
  last_seen_at: string;
  labels: Record<string, string>;
  claimed_labels: Record<string, string>;
  deployment_mode: string;
  created_at: string;
  health?: AgentHealth;
}

export interface AgentConfig {
  desired_version: number;
  applied_version: number;
  state: string;
  applied_at: string;
  error_message: string;
  errors: string[];
  virtual_hosts: { id: string; status: "applied" | "set_aside"; reason?: string }[];
  files: { id: string; path: string; reason: string }[];
}

export interface CommandResult {
  success: boolean;
  message: string;
  errors: string[];
}

export interface JoinToken {
  token: string;
  agent_id: string;
  expires_at: string;
  join_command?: string;
  join_command_npx?: string;
}

export interface UpstreamServer {
  address: string;
}

export interface Upstream {
  id: string;
  workspace_id: string;
  name: string;
  algorithm: string;
  servers: UpstreamServer[];
}

export type TargetAgents = { type: "all" } | { type: "selector"; label_selector: string };

export interface VirtualHost {
  id: string;
  workspace_id: string;
  name: string;
  server_name: string;
  listen_port: number;
  locations: { path: string; upstream_id?: string }[];
  target_agents: TargetAgents;
}

export interface VirtualHostStatus {
  agents: { agent_id: string; status: "applied" | "pending" | "set_aside"; reason: string }[];
}

export interface AccessLog {
  id: string;
  agent_id: string;
  timestamp: string;
  method: string;
  uri: string;
  host: string;
  status: number;
  body_bytes_sent: number;
  response_time_ms: number;
}

/** An open alert of `GET /v1/alerts`; `since` is when it was raised. */
export interface OpenAlert {
  alert_id: string;
  agent_id: string;
  workspace_id: string | null;
  severity: "info" | "warning" | "error" | "critical";
  message: string;
  metric: string;
  value: number;
  source: "server" | "agent";
  since: string;
}

export interface StatusClasses {
  "2xx": number;
  "3xx": number;
  "4xx": number;
  "5xx": number;
}

/** One bucket of a metrics answer asked with `interval`. */
export interface MetricsBucket {
  from: string;
  to: string;
  requests_total: number;
  errors_total: number;
  in_bytes: number;
  out_bytes: number;
  status_codes: StatusClasses;
}

export interface TrafficMetrics {
  requests_total: number;
  requests_per_second: number;
  error_rate: number;
  active_connections: number;
  bandwidth: { in_bytes: number; out_bytes: number };
  status_codes: StatusClasses;
  series?: MetricsBucket[];
}

/** `GET /v1/workspaces/{id}/rollout`: agent counts by config state, and hosts set aside. */
export interface Rollout {
  agents: number;
  applied: number;
  pending: number;
  failed: number;
  set_aside_hosts: number;
}
