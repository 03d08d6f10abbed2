import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type AgentChannels,
  type CallHandlers,
  callUnary,
  createCallHandlers,
  handleUnary,
} from "../channel/index.ts";
import type { CommittedEvent } from "../events/index.ts";
import { exporterCalls } from "../exporter/kinds.ts";
import type { StatusResponseSchema } from "../gen/jumpstarter/v1/jumpstarter_pb.ts";
import type { LeaseService } from "../lease/index.ts";
import type { Logger } from "../log/index.ts";
import type { Router } from "../router/index.ts";
import { auditFromProto, registrationFromProto, statusReportFromProto } from "../wire/lease.ts";

type LeaseStatus = MessageInitShape<typeof StatusResponseSchema>;

export interface ExporterSessions {
  /** The exporter.* kinds an agent's session answers, bound to that agent, and its clean-up. */
  forSession(agentId: string): { handlers: CallHandlers; close(): Promise<void> };
  /** The exporter's lease as its Status stream and its agent are told it. */
  leaseStatus(exporterId: string): Promise<LeaseStatus>;
  /** Resolves at the exporter's next change, or when the signal aborts. */
  nextChange(exporterId: string, signal: AbortSignal): Promise<void>;
  /** Follows what a committed event changed: tells exporters, cuts router streams. */
  onEvent(event: CommittedEvent): void;
}

/**
 * The server's half of exporters on agent sessions: what an agent sends
 * (register, status, audit) goes to the lease service; what changes about
 * an exporter's lease is pushed to its agent (`exporter.lease_status`), one
 * push at a time per exporter, each reading the state as it is then.
 */
export function createExporterSessions(deps: {
  leases: LeaseService;
  channels: AgentChannels;
  router: Router;
  logger: Logger;
}): ExporterSessions {
  const { leases } = deps;
  const pushes = new Map<string, Promise<void>>();
  const waiters = new Map<string, Set<() => void>>();

  async function leaseStatus(exporterId: string): Promise<LeaseStatus> {
    const exporter = await leases.exporterById(exporterId);
    const lease = exporter?.leaseName ? await leases.leaseByName(exporter.leaseName) : undefined;
    if (lease?.phase !== "Ready" || lease.fencingToken === undefined) return { leased: false };
    return {
      leased: true,
      leaseName: lease.name,
      clientName: lease.client,
      fencingToken: BigInt(lease.fencingToken),
      ...(lease.endTime ? { endTime: timestampFromDate(lease.endTime) } : {}),
    };
  }

  function push(exporterId: string): void {
    const previous = pushes.get(exporterId) ?? Promise.resolve();
    const next = previous.then(async () => {
      const channel = deps.channels.get(exporterId);
      if (!channel) return;
      try {
        await callUnary(channel, exporterCalls.leaseStatus, await leaseStatus(exporterId), {
          deadlineMs: 10_000,
        });
      } catch (error) {
        deps.logger.warn("could not tell an exporter its lease", {
          exporter: exporterId,
          error: String(error),
        });
      }
    });
    pushes.set(exporterId, next);
    void next.finally(() => {
      if (pushes.get(exporterId) === next) pushes.delete(exporterId);
    });
  }

  return {
    forSession(agentId) {
      const handlers = createCallHandlers();
      let registered = false;
      handleUnary(handlers, exporterCalls.register, async (request) => {
        const exporter = await leases.registerExporter(agentId, registrationFromProto(request));
        registered = true;
        await leases.exporterOnline(agentId);
        // Whatever it holds now (a lease that outlived a reconnect), it hears at once.
        push(agentId);
        return { uuid: exporter.id };
      });
      handleUnary(handlers, exporterCalls.reportStatus, async (request) => {
        await leases.reportExporterStatus(agentId, statusReportFromProto(request));
        return {};
      });
      handleUnary(handlers, exporterCalls.audit, async (audit) => {
        await leases.recordAudit(agentId, auditFromProto(audit));
        return {};
      });
      return {
        handlers,
        close: async () => {
          if (registered) await leases.exporterOffline(agentId);
        },
      };
    },
    leaseStatus,
    nextChange(exporterId, signal) {
      return new Promise((resolve) => {
        const set = waiters.get(exporterId) ?? new Set();
        const done = () => {
          set.delete(done);
          if (set.size === 0) waiters.delete(exporterId);
          signal.removeEventListener("abort", done);
          resolve();
        };
        set.add(done);
        waiters.set(exporterId, set);
        signal.addEventListener("abort", done, { once: true });
      });
    },
    onEvent(event) {
      for (const exporterId of event.changes.exporters ?? []) {
        push(exporterId);
        for (const wake of [...(waiters.get(exporterId) ?? [])]) wake();
      }
      const changedLeases = event.changes.leases ?? [];
      if (changedLeases.length > 0) {
        deps.router
          .leasesChanged(changedLeases)
          .catch((error: unknown) =>
            deps.logger.warn("router could not follow a lease change", { error: String(error) }),
          );
      }
    },
  };
}
