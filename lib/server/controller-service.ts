import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Principal } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import type { ControllerService } from "../gen/jumpstarter/v1/jumpstarter_pb.ts";
import type { LeaseService } from "../lease/index.ts";
import type { Router } from "../router/index.ts";
import {
  auditFromProto,
  leaseRequestFromProto,
  leaseToProto,
  registrationFromProto,
  statusReportFromProto,
} from "../wire/lease.ts";
import type { ExporterSessions } from "./exporter-sessions.ts";
import { peerKey } from "./peer.ts";

export interface ControllerDeps {
  leases: LeaseService;
  router: Router;
  exporters: Pick<ExporterSessions, "leaseStatus" | "nextChange">;
  /** Where this listener's clients open router streams (HOST:PORT). */
  routerEndpoint: () => string;
  /** The calling person or operator; refuses a caller that is neither (an agent). */
  principal: (context: HandlerContext) => Promise<Principal>;
  /** The workspace a request without workspace_id goes to (the `default` one), if any. */
  defaultWorkspaceId: () => Promise<string | undefined>;
}

/** The exporter calling (its agent certificate); refuses people and operators. */
function exporterOf(context: HandlerContext): string {
  const peer = context.values.get(peerKey);
  if (peer?.identity.role !== "agent") {
    throw new DroverError(
      "permission_denied",
      "exporters register and report on the agent bind with their agent certificate",
    );
  }
  return peer.identity.id;
}

/**
 * The Jumpstarter seed's ControllerService. One implementation on three
 * binds: the exporter methods answer agents (agent bind), the lease and dial
 * methods answer people and operators (HTTPS listener, operator bind).
 * Every method converts and calls the lease service, which authorizes.
 */
export function controllerService(deps: ControllerDeps): ServiceImpl<typeof ControllerService> {
  const { leases } = deps;
  return {
    async register(request, context) {
      const exporter = await leases.registerExporter(
        exporterOf(context),
        registrationFromProto(request),
      );
      await leases.exporterOnline(exporter.id);
      return { uuid: exporter.id };
    },
    // The seed: disconnecting with bye invalidates the exporter's router tokens.
    async unregister(_request, context) {
      const exporterId = exporterOf(context);
      const leaseName = (await leases.exporterById(exporterId))?.leaseName;
      if (leaseName !== undefined) deps.router.exporterLeft(leaseName);
      await leases.exporterOffline(exporterId);
      return {};
    },
    async reportStatus(request, context) {
      await leases.reportExporterStatus(exporterOf(context), statusReportFromProto(request));
      return {};
    },
    // A seed exporter's way to take streams (a Drover exporter takes them on its agent session).
    async *listen(request, context) {
      const exporterId = exporterOf(context);
      const lease = await leases.leaseByName(request.leaseName);
      if (lease?.phase !== "Ready" || lease.exporterId !== exporterId) {
        throw new DroverError(
          "failed_precondition",
          `lease ${request.leaseName} is not held on this exporter`,
        );
      }
      yield* deps.router.listen(lease, deps.routerEndpoint(), context.signal);
    },
    // A seed exporter is online while its Status stream is open, and hears every change of its lease.
    async *status(_request, context) {
      const exporterId = exporterOf(context);
      if (!(await leases.exporterById(exporterId))) {
        throw new DroverError("failed_precondition", "Register this exporter first");
      }
      await leases.exporterOnline(exporterId);
      try {
        while (!context.signal.aborted) {
          const changed = deps.exporters.nextChange(exporterId, context.signal);
          yield await deps.exporters.leaseStatus(exporterId);
          await changed;
        }
      } finally {
        await leases.exporterOffline(exporterId);
      }
    },
    async auditStream(requests, context) {
      const exporterId = exporterOf(context);
      for await (const audit of requests) {
        await leases.recordAudit(exporterId, auditFromProto(audit));
      }
      return {};
    },
    async dial(request, context) {
      const grant = await leases.authorizeDial(await deps.principal(context), request.leaseName);
      return deps.router.dial(grant, deps.routerEndpoint());
    },
    async getLease(request, context) {
      return leaseToProto(await leases.get(await deps.principal(context), request.name));
    },
    async requestLease(request, context) {
      const principal = await deps.principal(context);
      const workspaceId = request.workspaceId ?? (await deps.defaultWorkspaceId());
      if (workspaceId === undefined) {
        throw new DroverError(
          "invalid_argument",
          "there is no default workspace: set workspace_id to the workspace whose exporters to lease",
        );
      }
      const lease = await leases.request(principal, leaseRequestFromProto(request, workspaceId));
      return { name: lease.name };
    },
    async releaseLease(request, context) {
      await leases.release(await deps.principal(context), request.name, request.expectedClient);
      return {};
    },
    async listLeases(request, context) {
      const list = await leases.list(await deps.principal(context), {
        ...(request.workspaceId === undefined ? {} : { workspaceId: request.workspaceId }),
      });
      return { names: list.map((lease) => lease.name) };
    },
  };
}
