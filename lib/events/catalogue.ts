/**
 * The closed catalogue of events: every type Drover writes and the JSON it
 * carries. Names and payloads are a public contract (WebSocket /v1/events,
 * gRPC WatchEvents, the NxMesh event names); they only ever gain fields.
 */

/** What a change touched, stated by whoever made it; reactions follow this, never event names. */
export interface Changes {
  /** Workspaces whose configuration changed: every agent of each is computed again. */
  readonly workspaces?: readonly string[];
  /** Agents whose own desired state changed (labels, workspace, removal). */
  readonly agents?: readonly string[];
  /** Leases that changed phase, holder, end or reason (the router cuts streams of ended ones). */
  readonly leases?: readonly string[];
  /** Exporters whose lease, status or presence changed (their agent is told its lease status). */
  readonly exporters?: readonly string[];
}

/** For events that move no agent's desired state (tokens, users, presence, status reports). */
export const noChanges: Changes = {};

/** Every configuration object's event names its workspace and organization. */
export interface ScopePayload {
  workspace_id: string;
  organization_id: string;
}

export interface AgentPayload {
  agent_id: string;
  workspace_id: string | null;
  hostname: string;
  ip_address: string;
}

/** Who called a node function: a user, or an operator certificate. */
export interface NodeActor {
  kind: "user" | "operator";
  id: string;
}

export interface CertificateIssuePayload {
  certificate_id: string;
  workspace_id: string;
  agent_id: string;
  domain: string;
}

/** The seed's `config.applied` fields, then Drover's extras. */
export interface ConfigStatusPayload {
  agent_id: string;
  workspace_id: string | null;
  /** The configuration's content hash, which identifies it. */
  config_id: string;
  /** The per-agent config version: an integer that grows with each new desired configuration. */
  version: number;
  success: boolean;
  /** The same as config_id, under the name Drover's other objects use. */
  config_hash: string;
  state: string;
  duration_ms: number;
  errors?: string[];
  refused?: string[];
}

/**
 * Why an agent went offline: the NxMesh seed's reasons, and no others, so a
 * client can switch on them. `server_shutdown` also covers agents a server
 * that died left online, found at the next start (the timestamp tells them apart).
 */
export const disconnectReasons = [
  "connection_timeout",
  "stream_closed",
  "server_shutdown",
  "revoked",
] as const;
export type DisconnectReason = (typeof disconnectReasons)[number];

/** The seed's alert severities, lowest first. */
export const alertSeverities = ["info", "warning", "error", "critical"] as const;
export type AlertSeverity = (typeof alertSeverities)[number];

/** One alert of one agent: `alert_id` stays the same from raise to resolution. */
export interface AlertPayload extends AgentPayload {
  alert_id: string;
  severity: AlertSeverity;
  message: string;
  metric: string;
  value: number;
  /**
   * "agent": raised by the agent itself (HealthReport.alerts); then `metric`
   * is the agent's own alert id and `value` 1 while firing, 0 once resolved.
   * Absent: the server's thresholds over the agent's figures.
   */
  source?: "agent";
}

export interface MemberPayload {
  organization_id: string;
  user_id: string;
  email: string;
  role: string;
}

/** Every lease event: which lease, whose, where it stands. */
export interface LeasePayload {
  lease_name: string;
  workspace_id: string;
  organization_id: string;
  client: string;
  phase: string;
  reason: string;
  exporter_id: string | null;
  fencing_token: number | null;
}

/** Every exporter event: which exporter, where (null: not in a workspace yet). */
export interface ExporterPayload {
  exporter_id: string;
  workspace_id: string | null;
  organization_id: string | null;
}

export interface EventCatalogue {
  "organization.created": { organization_id: string };
  "organization.updated": { organization_id: string };
  "organization.deleted": { organization_id: string };
  "workspace.created": ScopePayload;
  "workspace.updated": ScopePayload;
  "workspace.deleted": ScopePayload;
  "user.created": { email: string; role: string; scope: string };
  "user.password_changed": { email: string };
  /** A person's role in an organization; never their password. */
  "member.added": MemberPayload;
  "member.updated": MemberPayload & { previous_role: string };
  "member.removed": MemberPayload;
  "token.created": {
    role: string;
    labels: Record<string, string>;
    allow_self_labels: boolean;
    workspace_id: string | null;
  };
  "token.revoked": Record<string, never>;
  "agent.registered": AgentPayload & {
    labels: Record<string, string>;
    /** What the agent claimed at join; selectors match only `labels`. */
    claimed_labels: Record<string, string>;
  };
  "operator.registered": {
    operator_id: string;
    workspace_id: string | null;
    hostname: string;
    ip_address: string;
    labels: Record<string, string>;
  };
  /**
   * By an operator (name, labels), by health (state, failed checks) or by the
   * agent's session hello (the deployment mode it runs in now).
   */
  "agent.updated": AgentPayload &
    (
      | {
          name: string;
          labels: Record<string, string>;
          /** Set when a fleet admin moved the agent: the workspace it left. */
          previous_workspace_id?: string | null;
        }
      | { state: string; failed: string[] }
      | { deployment_mode: string; previous_deployment_mode: string }
    );
  "agent.deleted": AgentPayload;
  "agent.connected": AgentPayload;
  "agent.disconnected": AgentPayload & { reason: DisconnectReason };
  /**
   * Raised, or escalated to a higher severity (same `alert_id`). `state` is
   * always "firing": a Drover extra kept from when resolutions shared the type.
   */
  "health.alert": AlertPayload & { state: "firing" };
  /** Not in the seed, which names no resolution: the end of the alert with this `alert_id`. */
  "health.alert_resolved": AlertPayload;
  "certificate.created": ScopePayload & {
    certificate_id: string;
    domain: string;
    provider: string;
  };
  "certificate.deleted": ScopePayload & {
    certificate_id: string;
    domain: string;
    provider: string;
  };
  "certificate.issued": CertificateIssuePayload & { serial: string; expires_at: string };
  /** A virtual host's certificate renewed on an agent, or an identity's mTLS certificate. */
  "certificate.renewed":
    | (CertificateIssuePayload & { serial: string; expires_at: string })
    | { serial: string };
  "certificate.failed": CertificateIssuePayload & { error: string };
  "upstream.created": ScopePayload & { upstream_id: string; name: string };
  "upstream.updated": ScopePayload & { upstream_id: string; name: string };
  "upstream.deleted": ScopePayload & { upstream_id: string; name: string };
  "virtual_host.created": ScopePayload & { virtual_host_id: string; name: string };
  "virtual_host.updated": ScopePayload & { virtual_host_id: string; name: string };
  "virtual_host.deleted": ScopePayload & { virtual_host_id: string; name: string };
  /** Never the content: a secret, or a template that renders one. */
  "file.created": ScopePayload & { file_id: string; name: string; path: string; kind: string };
  "file.updated": ScopePayload & { file_id: string; name: string; path: string; kind: string };
  "file.deleted": ScopePayload & { file_id: string; name: string; path: string; kind: string };
  /** Every final outcome of a delivery, as in the seed: `success` says which. */
  "config.applied": ConfigStatusPayload;
  /** A Drover extra: a failed delivery, also reported as config.applied with success false. */
  "config.failed": ConfigStatusPayload;
  "config.drifted": { agent_id: string; workspace_id: string | null; paths: string[] };
  /** A declared command ran on an agent (ExecuteCommand), or was refused there: the audit trail. */
  "node.command_executed": AgentPayload & {
    command: string;
    args: string[];
    /** null when it did not run (refused, or the agent was unreachable). */
    exit_code: number | null;
    timed_out: boolean;
    duration_ms: number;
    actor: NodeActor;
    error?: string;
  };
  /** A GPIO line was read, set or pulsed on an agent (ControlGPIO), or that was refused: the audit trail. */
  "node.gpio_controlled": AgentPayload & {
    line: string;
    action: "get" | "set" | "pulse";
    /** The logical level after the call; null when it failed. */
    level: "on" | "off" | null;
    duration_ms: number;
    actor: NodeActor;
    error?: string;
  };
  /** A lease request was queued (or ended at once as unsatisfiable: a lease.ended follows). */
  "lease.requested": LeasePayload & {
    selector: string;
    duration_ms: number;
    priority: number;
    sequence: number;
    not_before: string | null;
  };
  /** A pending lease's reason for waiting changed (the queue view). */
  "lease.pending": LeasePayload & { previous_reason: string };
  "lease.granted": LeasePayload & { begin_time: string; end_time: string };
  "lease.extended": LeasePayload & { end_time: string; previous_end_time: string };
  /** Sent once per end, min(5 minutes, a fifth of the lease) before it. */
  "lease.expiring": LeasePayload & { end_time: string };
  /** `reason`: Released, Expired, ExporterOffline, ForceReleased, ClientRemoved, ExporterRemoved or an Unsatisfiable reason. */
  "lease.ended": LeasePayload & { ended_at: string; message: string };
  /** A workspace's lease policies were replaced (admins). */
  "lease.policies_updated": ScopePayload & { names: string[] };
  "exporter.registered": ExporterPayload & {
    name: string;
    claimed_labels: Record<string, string>;
    driver_uuids: string[];
  };
  /** A reported status, or presence: status_version grows with each status change. */
  "exporter.status_changed": ExporterPayload & {
    status: string;
    previous_status: string | null;
    status_version: number;
    message: string;
    online: boolean;
  };
  /** The leased exporter went offline: the holder is told at once; the lease ends at grace_ends_at unless it returns. */
  "exporter.lease_interrupted": ExporterPayload & {
    lease_name: string;
    client: string;
    offline_since: string;
    grace_ends_at: string;
  };
  /** The audit trail of an exporter: a driver call or lease step (who, what, fencing token, result). */
  "exporter.driver_called": ExporterPayload & {
    driver_uuid: string;
    severity: string;
    message: string;
    lease_name: string | null;
    fencing_token: number | null;
    client: string | null;
    method: string | null;
    result: string | null;
  };
  /** NxMesh's Event, pushed by the agent itself; `data` is the agent's, bounded, never interpreted. */
  "agent.event": {
    agent_id: string;
    workspace_id: string | null;
    event_id: string;
    event_type: string;
    data: Record<string, string>;
  };
}

export type EventType = keyof EventCatalogue;

/** An event to write: its type, the payload that type carries, and what the change touched. */
export type PublishInput = {
  [T in EventType]: {
    type: T;
    subjectId: string;
    data: EventCatalogue[T];
    changes: Changes;
  };
}[EventType];
