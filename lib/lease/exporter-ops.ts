import { type Principal, requireRead } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import type { EventBus } from "../events/index.ts";
import { validateLabels } from "../selector/index.ts";
import type { Store } from "../store/index.ts";
import type { Clock } from "../time/index.ts";
import { readableWorkspace } from "./access.ts";
import { announceOffline } from "./scheduler.ts";
import { emitStatusChanged, endLease, transition } from "./transitions.ts";
import { type Exporter, exporterStatusNames, type LeaseService } from "./types.ts";

const statuses: ReadonlySet<string> = new Set(exporterStatusNames);
const MAX_REPORTS = 256;
const MAX_TEXT = 4096;

export interface ExporterOpsDeps {
  store: Store;
  events: EventBus;
  clock: Clock;
  graceMs: number;
}

function unknownExporter(agentId: string): DroverError {
  return new DroverError("not_found", `exporter ${agentId} not found`);
}

function bounded(field: string, text: string | undefined): string {
  if (text === undefined) return "";
  if (typeof text !== "string" || text.length > MAX_TEXT) {
    throw new DroverError(
      "invalid_argument",
      `${field}: must be a string of at most ${MAX_TEXT} characters`,
    );
  }
  return text;
}

/** The exporter side of the service: what an agent running as an exporter reports, and what people read of it. */
export function createExporterOps(
  deps: ExporterOpsDeps,
): Pick<
  LeaseService,
  | "registerExporter"
  | "reportExporterStatus"
  | "exporterOnline"
  | "exporterOffline"
  | "recordAudit"
  | "listExporters"
  | "getExporter"
  | "exporterById"
> {
  // No wake-up calls: every change here commits an event, and the scheduler's loop hears those.
  const { store, events, clock, graceMs } = deps;

  return {
    async registerExporter(agentId, input) {
      validateLabels(input.claimedLabels, "labels");
      if (!Array.isArray(input.reports) || input.reports.length > MAX_REPORTS) {
        throw new DroverError("invalid_argument", `reports: at most ${MAX_REPORTS} driver reports`);
      }
      for (const [i, report] of input.reports.entries()) {
        validateLabels(report.labels ?? {}, `reports.${i}.labels`);
      }
      const now = clock.now();
      const exporter = await events.commit(async (tx) => {
        const registered = await tx.exporters.register(agentId, input, now);
        if (!registered) throw unknownExporter(agentId);
        await tx.emit({
          type: "exporter.registered",
          subjectId: agentId,
          data: {
            exporter_id: agentId,
            workspace_id: registered.workspaceId,
            organization_id: registered.organizationId,
            name: registered.name,
            claimed_labels: registered.claimedLabels,
            driver_uuids: registered.reports.map((report) => report.uuid),
          },
          changes: { exporters: [agentId] },
        });
        return registered;
      });
      return exporter;
    },

    async reportExporterStatus(agentId, report) {
      if (!statuses.has(report.status)) {
        throw new DroverError(
          "invalid_argument",
          `status: unknown exporter status ${String(report.status)}`,
        );
      }
      const message = bounded("message", report.message);
      const now = clock.now();
      const exporter = await events.commit(async (tx) => {
        const before = (await tx.exporters.get(agentId)) ?? null;
        if (!before) throw unknownExporter(agentId);
        const after =
          (await tx.exporters.setStatus(agentId, report.status, message, now)) ?? before;
        if (
          after.statusVersion !== before.statusVersion ||
          after.statusMessage !== before.statusMessage
        ) {
          await emitStatusChanged(tx, after);
        }
        if (!report.releaseLease || after.leaseName === undefined) return after;
        const lease = await tx.leases.get(after.leaseName);
        if (lease?.phase === "Ready") {
          // The exporter ran its afterLease hook already: its report is its status.
          await endLease(
            tx,
            lease,
            { reason: "Released", message: "released by the exporter", afterLease: false },
            now,
          );
        }
        return (await tx.exporters.get(agentId)) ?? after;
      });
      return exporter;
    },

    async exporterOnline(agentId) {
      const now = clock.now();
      await transition(events, async (tx) => {
        const exporter = await tx.exporters.setOnline(agentId, now);
        if (exporter) await emitStatusChanged(tx, exporter);
      });
    },

    async exporterOffline(agentId) {
      const now = clock.now();
      await transition(events, async (tx) => {
        const exporter = await tx.exporters.setOffline(agentId, now);
        if (exporter) await announceOffline(tx, exporter, graceMs);
      });
    },

    async recordAudit(agentId, audit) {
      const exporter = await store.exporters.get(agentId);
      if (!exporter) throw unknownExporter(agentId);
      await events.publish({
        type: "exporter.driver_called",
        subjectId: agentId,
        data: {
          exporter_id: agentId,
          workspace_id: exporter.workspaceId,
          organization_id: exporter.organizationId,
          driver_uuid: bounded("driver_uuid", audit.driverUuid),
          severity: bounded("severity", audit.severity),
          message: bounded("message", audit.message),
          lease_name: audit.leaseName ?? null,
          fencing_token: audit.fencingToken ?? null,
          client: audit.client ?? null,
          method: audit.method ?? null,
          result: audit.result ?? null,
        },
        changes: {},
      });
    },

    async listExporters(principal, workspaceId) {
      await readableWorkspace(store, principal, workspaceId);
      return store.exporters.list({ workspaceId });
    },

    async getExporter(principal: Principal, id: string): Promise<Exporter> {
      const exporter = await store.exporters.get(id);
      // Unassigned exporters are fleet-level: only fleet-wide roles see them.
      if (!exporter || (exporter.organizationId === null && !principal.fleetRole))
        throw unknownExporter(id);
      if (exporter.organizationId !== null)
        requireRead(principal, exporter.organizationId, `exporter ${id}`);
      return exporter;
    },

    exporterById: async (agentId) => (await store.exporters.get(agentId)) ?? undefined,
  };
}
