import type { Labels, Selector } from "../selector/index.ts";

/**
 * The lease engine's records as the store keeps them (lib/lease re-exports
 * them): the Jumpstarter seed's phases, conditions, exporter statuses and
 * driver reports, and the workspace policies.
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
