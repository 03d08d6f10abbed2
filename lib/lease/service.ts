import { requireWrite, visibleOrganizationIds } from "../auth/index.ts";
import type { EventBus } from "../events/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import type { Store } from "../store/index.ts";
import type { Clock, Timers } from "../time/index.ts";
import { readableWorkspace } from "./access.ts";
import { createExporterOps } from "./exporter-ops.ts";
import { createHolderOps } from "./holder-ops.ts";
import { checkPolicies, effectivePolicies } from "./policy.ts";
import { createLeaseReads, view } from "./reads.ts";
import { createRequestOp } from "./request-op.ts";
import {
  createScheduler,
  heldDeadline,
  type PassScope,
  type SchedulerTiming,
} from "./scheduler.ts";
import type { LeaseService, LeaseServiceOptions } from "./types.ts";
import { createSchedulerLoop } from "./wakeups.ts";

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

export function createLeaseService(
  deps: LeaseServiceDeps,
  options: LeaseServiceOptions = {},
): LeaseEngine {
  const { store, events, clock, timers } = deps;
  const logger = deps.logger ?? silentLogger;
  const graceMs = options.exporterOfflineGraceMs ?? DEFAULT_GRACE_MS;
  const timing: SchedulerTiming = {
    graceMs,
    ...(options.expiryWarningMs !== undefined ? { warningMs: options.expiryWarningMs } : {}),
  };
  const scheduler = createScheduler({ store, events, clock }, timing);
  // One pass at a time in this process; several servers are kept apart by the guarded writes.
  let passing: Promise<Date | undefined> = Promise.resolve(undefined);
  const pass = (scope: PassScope): Promise<Date | undefined> => {
    passing = passing.catch(() => undefined).then(() => scheduler.reconcile(scope));
    return passing;
  };
  const loop = createSchedulerLoop({ events, clock, timers, logger, pass });

  const reads = createLeaseReads(store);
  const { fresh, withPositions } = reads;

  return {
    ...createExporterOps({ store, events, clock, graceMs }),
    ...createHolderOps({
      store,
      events,
      clock,
      reads,
      dueAt: (lease) => loop.dueAt(heldDeadline(lease, timing)),
    }),

    request: createRequestOp({
      store,
      events,
      clock,
      reads,
      serveQueue: async () => {
        await pass("queue");
      },
      dueAt: (at) => loop.dueAt(at),
      deadlineOf: (lease) => heldDeadline(lease, timing),
    }),

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
      return [...effectivePolicies(await store.leasePolicies.list(workspaceId))];
    },

    recover: () => scheduler.recover(),
    reconcile: () => pass("all"),
    run: (signal) => loop.run(signal),
  };
}
