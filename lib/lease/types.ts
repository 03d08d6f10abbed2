import type { Principal } from "../auth/index.ts";
import type { Labels, Selector } from "../selector/index.ts";
import type {
  DriverReport,
  Exporter,
  ExporterStatusName,
  Lease,
  LeaseClient,
  LeasePolicy,
} from "../store/lease-records.ts";

/**
 * The lease engine's vocabulary: the Jumpstarter seed's phases, condition
 * types and reasons, and the records the store keeps. Every edge (gRPC,
 * REST, CLI, web UI) speaks these through the LeaseService below. The
 * records themselves are the store's (lib/store/lease-records.ts).
 */

export {
  type DriverReport,
  type EndReason,
  type Exporter,
  type ExporterStatusName,
  exporterStatusNames,
  type Lease,
  type LeaseClient,
  type LeaseCondition,
  type LeasePhase,
  type LeasePolicy,
  type PendingReason,
  type UnsatisfiableReason,
} from "../store/lease-records.ts";

/** A lease as a caller sees it: with its place in the queue while pending. */
export interface LeaseView extends Lease {
  /** 1-based, among pending leases of its workspace, in service order. */
  queuePosition?: number;
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
