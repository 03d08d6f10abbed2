import type { Principal } from "../auth/index.ts";
import type { Labels, Selector } from "../selector/index.ts";

/**
 * The lease engine's vocabulary: the Jumpstarter seed's phases, condition
 * types and reasons, and the records the store keeps. Every edge (gRPC,
 * REST, CLI, web UI) speaks these through the LeaseService below.
 */

/** Where a lease is: waiting in the queue, held, or over (for whatever reason). */
export type LeasePhase = "Pending" | "Ready" | "Ended";

/** Why a pending lease waits. */
export type PendingReason =
  /** Every matching exporter is offline. */
  | "Offline"
  /** Matching exporters are online but leased (or taken by requests ahead in the queue). */
  | "NotAvailable"
  /** A matching exporter is free but not ready (a hook still running, a hook failed). */
  | "NotReady"
  /** A window request whose begin time has not come. */
  | "Scheduled";

/** Why a request ended at once: no exporter can ever satisfy it as asked. */
export type UnsatisfiableReason = "NoMatch" | "NoAccess" | "DurationExceedsPolicy";

/** Why a lease ended. */
export type EndReason =
  | "Released"
  | "Expired"
  | "ExporterOffline"
  /** An admin released another's lease. */
  | "ForceReleased"
  /** Its holder was deleted or lost access to the workspace. */
  | "ClientRemoved"
  /** Its exporter was deleted. */
  | "ExporterRemoved"
  | UnsatisfiableReason;

/** The Kubernetes-style condition the seed's GetLeaseResponse carries. */
export interface LeaseCondition {
  type: "Pending" | "Ready" | "Unsatisfiable" | "Invalid";
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: Date;
}

/** Who holds or asked for a lease: "user:<user id>" or "operator:<identity id>" (the operator certificate's subject). */
export type LeaseClient = string;

export interface Lease {
  /** Unique, chosen by the server (`lease-<random>`), never reused. */
  name: string;
  workspaceId: string;
  organizationId: string;
  client: LeaseClient;
  selector: Selector;
  /** How long the lease lasts once granted. */
  durationMs: number;
  /** A window request: not granted before this. */
  notBefore?: Date;
  priority: number;
  requestedAt: Date;
  /** Request order: strictly increasing across the store; first come first served within a priority. */
  sequence: number;
  phase: LeasePhase;
  /** Pending: a PendingReason; Ready: "Ready"; Ended: an EndReason. */
  reason: string;
  message: string;
  exporterId?: string;
  /** Set at grant; strictly increasing per exporter, never reused, across restarts. */
  fencingToken?: number;
  /** When it was granted. */
  beginTime?: Date;
  /** When it ends unless extended (set at grant). */
  endTime?: Date;
  endedAt?: Date;
  conditions: LeaseCondition[];
}

/** A lease as a caller sees it: with its place in the queue while pending. */
export interface LeaseView extends Lease {
  /** 1-based, among pending leases of its workspace, in service order. */
  queuePosition?: number;
}

/** The seed's exporter statuses, in Drover's spelling of the enum. */
export const exporterStatusNames = [
  "Offline",
  "Available",
  "BeforeLease",
  "LeaseReady",
  "AfterLease",
  "BeforeLeaseFailed",
  "AfterLeaseFailed",
] as const;

export type ExporterStatusName = (typeof exporterStatusNames)[number];

/** One driver instance (the seed's DriverInstanceReport). */
export interface DriverReport {
  uuid: string;
  parentUuid?: string;
  labels: Labels;
  description?: string;
  methodsDescription: Record<string, string>;
}

export interface Exporter {
  /** The agent's id: an exporter is an agent that runs with --exporter. */
  id: string;
  workspaceId: string | null;
  organizationId: string | null;
  /** The agent's name (its hostname unless named). */
  name: string;
  /** The agent's operator-set labels: what lease selectors match. */
  labels: Labels;
  /** Labels the exporter claimed at Register: shown, never matched. */
  claimedLabels: Labels;
  reports: DriverReport[];
  online: boolean;
  status: ExporterStatusName;
  statusMessage: string;
  /** Increments on every status change; never goes back. */
  statusVersion: number;
  previousStatus?: ExporterStatusName;
  /** The lease that holds it, if any. */
  leaseName?: string;
  /** The last fencing token granted on it (0: never leased). */
  fencingToken: number;
  /** While offline with a lease: when the grace period ends the lease. */
  offlineSince?: Date;
}

/** Which users may lease which exporters of a workspace, for how long and how urgently. */
export interface LeasePolicy {
  /** Unique within its workspace. */
  name: string;
  /** "user:<id>", "role:viewer|admin|owner" (that role or above), or "*". */
  principals: string[];
  /** Exporters it covers (by their labels); empty: all. */
  exporterSelector: Selector;
  maxDurationMs: number;
  /** The highest priority a request may ask for (0 = none above normal). */
  maxPriority: number;
}

export interface LeaseRequest {
  workspaceId: string;
  selector: Selector;
  /** Either durationMs, or a window (beginTime? and endTime); a duration that disagrees with the window is refused. */
  durationMs?: number;
  beginTime?: Date;
  endTime?: Date;
  /** Default 0. */
  priority?: number;
}

/** An extension: `by` adds to the current end; `fromNow` sets the end to now + it. Never shortens. */
export type LeaseExtension = { byMs: number } | { fromNowMs: number };

/** Status reported by an exporter (the seed's ReportStatusRequest). */
export interface ExporterStatusReport {
  status: ExporterStatusName;
  message?: string;
  /** The exporter ends its own lease (after its afterLease hook). */
  releaseLease?: boolean;
}

/** What the router needs to open a stream on a lease. */
export interface DialGrant {
  lease: Lease;
  exporterId: string;
  fencingToken: number;
}

export interface LeaseServiceOptions {
  /** How long a leased exporter may be offline before its lease ends (default 2 minutes). */
  exporterOfflineGraceMs?: number;
  /** How long before its end a lease.expiring warning is sent (default: min(5 minutes, a fifth of the lease)). */
  expiryWarningMs?: number;
}

/**
 * The lease engine as its edges use it. Every transition is one conditional
 * write in one store transaction with its event (lease.* / exporter.*), so
 * it stays correct with several servers on one database.
 */
export interface LeaseService {
  // Exporters (from the agent session's exporter.* calls, or gRPC ControllerService on the agent bind).
  registerExporter(
    agentId: string,
    input: { claimedLabels: Labels; reports: DriverReport[] },
  ): Promise<Exporter>;
  reportExporterStatus(agentId: string, report: ExporterStatusReport): Promise<Exporter>;
  /** The agent's session opened or closed: online/offline, with the grace for a held lease. */
  exporterOnline(agentId: string): Promise<void>;
  exporterOffline(agentId: string): Promise<void>;
  recordAudit(
    agentId: string,
    audit: {
      driverUuid: string;
      severity: string;
      message: string;
      leaseName?: string;
      fencingToken?: number;
      client?: string;
      method?: string;
      result?: string;
    },
  ): Promise<void>;

  // Clients.
  request(principal: Principal, request: LeaseRequest): Promise<LeaseView>;
  get(principal: Principal, name: string): Promise<LeaseView>;
  list(principal: Principal, filter: { workspaceId?: string }): Promise<LeaseView[]>;
  extend(principal: Principal, name: string, extension: LeaseExtension): Promise<LeaseView>;
  /** The holder's release; an admin releasing another's names the client they expect. */
  release(principal: Principal, name: string, expectedClient?: LeaseClient): Promise<LeaseView>;
  /** Checks the lease is Ready and the principal holds it; the router then opens a stream. */
  authorizeDial(principal: Principal, name: string): Promise<DialGrant>;
  listExporters(principal: Principal, workspaceId: string): Promise<Exporter[]>;
  getExporter(principal: Principal, id: string): Promise<Exporter>;
  /** An exporter as the server itself sees it (for pushing lease status to its agent). */
  exporterById(agentId: string): Promise<Exporter | undefined>;
  /** A lease as the server itself sees it (the router checks a stream's lease after a change). */
  leaseByName(name: string): Promise<Lease | undefined>;
  listPolicies(principal: Principal, workspaceId: string): Promise<LeasePolicy[]>;
  /** Replaces the workspace's policies (admins); an empty list restores the default. */
  setPolicies(
    principal: Principal,
    workspaceId: string,
    policies: LeasePolicy[],
  ): Promise<LeasePolicy[]>;

  /** The scheduler: grants, expiries, warnings and grace periods, until the signal aborts. */
  run(signal: AbortSignal): Promise<void>;
}

/** The client string of a principal. */
export function leaseClientOf(principal: Principal): LeaseClient {
  return `${principal.kind}:${principal.id}`;
}
