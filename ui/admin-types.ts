/** The REST shapes the administration pages read (a subset of /v1/openapi.json). */
export type Role = "owner" | "admin" | "viewer";
export const roles: readonly Role[] = ["viewer", "admin", "owner"];

export interface OrganizationDetail {
  id: string;
  name: string;
  slug: string;
  created_at: string;
}

export interface WorkspaceDetail {
  id: string;
  organization_id: string;
  name: string;
  slug: string;
  global_settings: {
    nginx_directives: Record<string, string>;
    env_vars: Record<string, string>;
  } | null;
  alert_thresholds: AlertThresholds | null;
}

export const thresholdMetrics = ["cpu_percent", "memory_percent", "disk_percent"] as const;
export type ThresholdMetric = (typeof thresholdMetrics)[number];
export interface AlertThreshold {
  warning: number;
  critical?: number;
  clear: number;
}
export type AlertThresholds = Partial<Record<ThresholdMetric, AlertThreshold>>;

export interface Member {
  /** Rows of a list need an id: the member's user id. */
  user_id: string;
  email: string;
  role: Role;
  created_at: string;
}

export interface UserRow {
  id: string;
  email: string;
  password_change_required: boolean;
  created_at: string;
  fleet_role: Role | null;
  memberships: { organization_id: string; role: Role }[];
}

export const certificateProviders = ["internal", "letsencrypt", "acme"] as const;

export interface Certificate {
  id: string;
  workspace_id: string;
  domain: string;
  provider: (typeof certificateProviders)[number];
  status: "pending" | "active" | "failed" | "expired" | "revoked";
  status_message: string | null;
  issued_at: string | null;
  expires_at: string | null;
  auto_renew: boolean;
}

export const fileKinds = ["file", "secret", "env_template"] as const;

export interface AgentFile {
  id: string;
  workspace_id: string;
  name: string;
  path: string;
  mode: number;
  kind: (typeof fileKinds)[number];
  /** null for a secret: the API never returns its value. */
  content: string | null;
  content_redacted: boolean;
}
