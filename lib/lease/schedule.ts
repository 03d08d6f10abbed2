import { type Labels, matchesSelector, type Selector } from "../selector/index.ts";
import { allowanceFor, type LeaseHolder } from "./policy.ts";
import { inServiceOrder } from "./queue.ts";
import type {
  ExporterStatusName,
  LeasePolicy,
  PendingReason,
  UnsatisfiableReason,
} from "./types.ts";

/** An exporter as the scheduler sees it. */
export interface ScheduleExporter {
  id: string;
  workspaceId: string | null;
  labels: Labels;
  online: boolean;
  status: ExporterStatusName;
  leaseName?: string;
}

/** A pending lease as the scheduler sees it. */
export interface SchedulePending {
  name: string;
  workspaceId: string;
  selector: Selector;
  durationMs: number;
  notBefore?: Date;
  priority: number;
  sequence: number;
  holder: LeaseHolder;
}

export interface SchedulePlan {
  /** In service order: each lease and the exporter it gets. */
  grants: Array<{ lease: string; exporterId: string }>;
  /** Why each lease not granted waits. */
  waiting: Map<string, PendingReason>;
  /** Leases no exporter of their workspace can ever grant as asked. */
  unsatisfiable: Map<string, UnsatisfiableReason>;
}

/**
 * The exporters of the lease's workspace it could ever use (selector, access,
 * duration), in id order, or why there are none: NoMatch before NoAccess
 * before DurationExceedsPolicy, the first obstacle a request meets.
 */
export function usableExporters<E extends ScheduleExporter>(
  lease: Pick<SchedulePending, "workspaceId" | "selector" | "durationMs" | "holder">,
  exporters: readonly E[],
  policies: readonly LeasePolicy[],
): { usable: E[] } | { unsatisfiable: UnsatisfiableReason } {
  const matching = exporters.filter(
    (exporter) =>
      exporter.workspaceId === lease.workspaceId &&
      matchesSelector(lease.selector, exporter.labels),
  );
  if (matching.length === 0) return { unsatisfiable: "NoMatch" };
  const allowed = matching
    .map((exporter) => ({
      exporter,
      allowance: allowanceFor(policies, lease.holder, exporter.labels),
    }))
    .filter((entry) => entry.allowance !== undefined);
  if (allowed.length === 0) return { unsatisfiable: "NoAccess" };
  const usable = allowed
    .filter((entry) => (entry.allowance?.maxDurationMs ?? 0) >= lease.durationMs)
    .map((entry) => entry.exporter);
  if (usable.length === 0) return { unsatisfiable: "DurationExceedsPolicy" };
  return { usable: usable.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}

function isFree(exporter: ScheduleExporter, taken: ReadonlySet<string>): boolean {
  return (
    exporter.online &&
    exporter.status === "Available" &&
    exporter.leaseName === undefined &&
    !taken.has(exporter.id)
  );
}

function waitingReason(
  usable: readonly ScheduleExporter[],
  taken: ReadonlySet<string>,
): PendingReason {
  if (usable.every((exporter) => !exporter.online)) return "Offline";
  const idle = usable.some(
    (exporter) => exporter.online && exporter.leaseName === undefined && !taken.has(exporter.id),
  );
  return idle ? "NotReady" : "NotAvailable";
}

/**
 * One scheduling decision over a snapshot: pending leases are served in
 * order (priority, then request order), each taking the first free exporter
 * (by id) it can use, so an earlier request of the same or higher priority
 * always has first pick and no request waits behind a later one. A pure
 * function of its inputs; `now` decides only whether a window has begun.
 */
export function schedule(input: {
  exporters: readonly ScheduleExporter[];
  pending: readonly SchedulePending[];
  policies: (workspaceId: string) => readonly LeasePolicy[];
  now: Date;
}): SchedulePlan {
  const plan: SchedulePlan = { grants: [], waiting: new Map(), unsatisfiable: new Map() };
  const taken = new Set<string>();
  for (const lease of inServiceOrder(input.pending)) {
    const found = usableExporters(lease, input.exporters, input.policies(lease.workspaceId));
    if ("unsatisfiable" in found) {
      plan.unsatisfiable.set(lease.name, found.unsatisfiable);
      continue;
    }
    if (lease.notBefore !== undefined && lease.notBefore.getTime() > input.now.getTime()) {
      plan.waiting.set(lease.name, "Scheduled");
      continue;
    }
    const free = found.usable.find((exporter) => isFree(exporter, taken));
    if (free === undefined) {
      plan.waiting.set(lease.name, waitingReason(found.usable, taken));
      continue;
    }
    taken.add(free.id);
    plan.grants.push({ lease: lease.name, exporterId: free.id });
  }
  return plan;
}
