import { requireWrite, visibleOrganizationIds } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import type { CommittedEvent, EventBus } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import { formatSelector, matchesSelector } from "../selector/index.ts";
import type { Store } from "../store/index.ts";
import type { Clock, Timers } from "../time/index.ts";
import { holderOf, readableWorkspace } from "./access.ts";
import { leaseConditions } from "./conditions.ts";
import { createExporterOps } from "./exporter-ops.ts";
import { createHolderOps } from "./holder-ops.ts";
import { allowanceFor, checkPolicies, effectivePolicies } from "./policy.ts";
import { createLeaseReads, view } from "./reads.ts";
import { validateLeaseRequest } from "./request.ts";
import { schedule } from "./schedule.ts";
import { createScheduler } from "./scheduler.ts";
import { leasePayload } from "./transitions.ts";
import type { LeaseService, LeaseServiceOptions } from "./types.ts";

export interface LeaseServiceDeps {
  store: Store;
  events: EventBus;
  clock: Clock;
  timers: Timers;
  logger?: Logger;
}

/** The service, with the scheduler's steps exposed for tests and embedders that drive time themselves. */
export interface LeaseEngine extends LeaseService {
  /** The start-up sweep, before any session opens: every exporter offline, the grace of held leases from now. */
  recover(): Promise<void>;
  /** One scheduling pass now (grants, expiries, grace ends, warnings, reasons); the next deadline. */
  reconcile(): Promise<Date | undefined>;
}

const DEFAULT_GRACE_MS = 120_000;
/** After a failed pass, the scheduler tries again this much later. */
const RETRY_MS = 1_000;

/** Whether an event may change a scheduling decision. */
function schedulingRelevant(event: CommittedEvent): boolean {
  const { changes } = event;
  return (
    (changes.leases?.length ?? 0) > 0 ||
    (changes.exporters?.length ?? 0) > 0 ||
    (changes.agents?.length ?? 0) > 0 ||
    (changes.workspaces?.length ?? 0) > 0 ||
    event.type.startsWith("member.") ||
    event.type === "lease.policies_updated"
  );
}

export function createLeaseService(
  deps: LeaseServiceDeps,
  options: LeaseServiceOptions = {},
): LeaseEngine {
  const { store, events, clock, timers } = deps;
  const logger = deps.logger ?? silentLogger;
  const graceMs = options.exporterOfflineGraceMs ?? DEFAULT_GRACE_MS;
  const scheduler = createScheduler(
    { store, events, clock },
    {
      graceMs,
      ...(options.expiryWarningMs !== undefined ? { warningMs: options.expiryWarningMs } : {}),
    },
  );
  let wakeUp: (() => void) | undefined;
  let woken = false;
  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  // One pass at a time in this process; several servers are kept apart by the guarded writes.
  let passing: Promise<Date | undefined> = Promise.resolve(undefined);
  const reconcile = (): Promise<Date | undefined> => {
    passing = passing.catch(() => undefined).then(() => scheduler.reconcile());
    return passing;
  };

  const reads = createLeaseReads(store);
  const { fresh, withPositions } = reads;

  return {
    ...createExporterOps({ store, events, clock, graceMs, wake }),
    ...createHolderOps({ store, events, clock, reads, wake }),

    async request(principal, request) {
      const now = clock.now();
      const valid = validateLeaseRequest(request, now);
      const workspace = await readableWorkspace(store, principal, valid.workspaceId);
      const holder = holderOf(principal, workspace.organizationId);
      const policies = effectivePolicies(await store.leasePolicies.list(workspace.id));
      const exporters = await store.exporters.list({ workspaceId: workspace.id });
      const maxPriority = Math.max(
        ...exporters
          .filter((e) => matchesSelector(valid.selector, e.labels))
          .map((e) => allowanceFor(policies, holder, e.labels)?.maxPriority ?? -Infinity),
      );
      if (valid.priority > 0 && valid.priority > maxPriority) {
        throw new DroverError(
          "permission_denied",
          `priority ${valid.priority} is above what your lease policy allows (${Number.isFinite(maxPriority) ? maxPriority : 0})`,
        );
      }
      const name = newId("lease");
      const plan = schedule({
        exporters,
        pending: [{ ...valid, name, sequence: 0, holder }],
        policies: () => policies,
        now,
      });
      const unsatisfiable = plan.unsatisfiable.get(name);
      const reason = unsatisfiable ?? plan.waiting.get(name) ?? "NotAvailable";
      const phase = unsatisfiable ? "Ended" : "Pending";
      const message = unsatisfiable
        ? `no exporter of workspace ${workspace.id} can grant this request: ${unsatisfiable}`
        : "";
      const lease = await events.commit(async (tx) => {
        const inserted = await tx.leases.insert({
          name,
          workspaceId: workspace.id,
          organizationId: workspace.organizationId,
          client: holder.client,
          selector: valid.selector,
          durationMs: valid.durationMs,
          ...(valid.notBefore ? { notBefore: valid.notBefore } : {}),
          priority: valid.priority,
          requestedAt: now,
          phase,
          reason,
          message,
          ...(unsatisfiable ? { endedAt: now } : {}),
          conditions: leaseConditions({ phase, reason, message }, [], now),
        });
        await tx.emit({
          type: "lease.requested",
          subjectId: name,
          data: {
            ...leasePayload(inserted),
            selector: formatSelector(inserted.selector),
            duration_ms: inserted.durationMs,
            priority: inserted.priority,
            sequence: inserted.sequence,
            not_before: inserted.notBefore?.toISOString() ?? null,
          },
          changes: { leases: [name] },
        });
        if (unsatisfiable) {
          await tx.emit({
            type: "lease.ended",
            subjectId: name,
            data: { ...leasePayload(inserted), ended_at: now.toISOString(), message },
            changes: { leases: [name] },
          });
        }
        return inserted;
      });
      if (lease.phase === "Pending") await reconcile();
      return fresh(principal, name);
    },

    get: (principal, name) => fresh(principal, name),

    async leaseByName(name) {
      const lease = await store.leases.get(name);
      return lease ? view(lease) : undefined;
    },

    async list(principal, filter) {
      if (filter.workspaceId !== undefined) {
        await readableWorkspace(store, principal, filter.workspaceId);
        return withPositions(await store.leases.list({ workspaceIds: [filter.workspaceId] }));
      }
      const organizations = visibleOrganizationIds(principal);
      const all = await store.leases.list({});
      return withPositions(
        organizations === undefined
          ? all
          : all.filter((lease) => organizations.includes(lease.organizationId)),
      );
    },

    async listPolicies(principal, workspaceId) {
      await readableWorkspace(store, principal, workspaceId);
      return [...effectivePolicies(await store.leasePolicies.list(workspaceId))];
    },

    async setPolicies(principal, workspaceId, policies) {
      const workspace = await readableWorkspace(store, principal, workspaceId);
      requireWrite(principal, workspace.organizationId, `workspace ${workspaceId}`);
      checkPolicies(policies);
      await events.commit(async (tx) => {
        await tx.leasePolicies.replace(workspaceId, policies);
        await tx.emit({
          type: "lease.policies_updated",
          subjectId: workspaceId,
          data: {
            workspace_id: workspaceId,
            organization_id: workspace.organizationId,
            names: policies.map((p) => p.name),
          },
          changes: {},
        });
      });
      wake();
      return [...effectivePolicies(await store.leasePolicies.list(workspaceId))];
    },

    recover: () => scheduler.recover(),
    reconcile,

    async run(signal) {
      const unsubscribe = events.subscribe((event) => {
        if (schedulingRelevant(event)) wake();
      });
      try {
        while (!signal.aborted) {
          woken = false;
          let next: Date | undefined;
          try {
            next = await reconcile();
          } catch (error) {
            logger.error("lease scheduler pass failed", { error: String(error) });
            next = new Date(clock.now().getTime() + RETRY_MS);
          }
          if (woken || signal.aborted) continue;
          await new Promise<void>((resolve) => {
            let cancel = () => {};
            const done = () => {
              cancel();
              signal.removeEventListener("abort", done);
              wakeUp = undefined;
              resolve();
            };
            if (next)
              cancel = timers.after(Math.max(0, next.getTime() - clock.now().getTime()), done);
            wakeUp = done;
            signal.addEventListener("abort", done, { once: true });
          });
        }
      } finally {
        unsubscribe();
      }
    },
  };
}
