import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { operatorPrincipal, type Principal } from "../auth/index.ts";
import type { Fleet } from "../fleet/index.ts";
import type { OperatorService } from "../gen/drover/v1/operator_pb.ts";
import {
  agentMetrics,
  createCertificate,
  createUpstream,
  createVirtualHost,
  deleteCertificate,
  deleteUpstream,
  deleteVirtualHost,
  getCertificate,
  getUpstream,
  getVirtualHost,
  listCertificates,
  listUpstreams,
  listVirtualHosts,
  queryAccessLogs,
  updateUpstream,
  updateVirtualHost,
  workspaceMetrics,
} from "../tenancy/index.ts";
import {
  accessLogQueryFromProto,
  accessLogToProto,
  certificateInputFromProto,
  metricsToProto,
  timeWindowFromProto,
  tlsCertificateToProto,
  upstreamInputFromProto,
  upstreamPatchFromProto,
  upstreamToProto,
  virtualHostInputFromProto,
  virtualHostPatchFromProto,
  virtualHostToProto,
} from "../wire/index.ts";
import { peerKey } from "./peer.ts";

/**
 * Virtual hosts, upstreams, certificate records, access logs and metrics:
 * the REST /v1 operations over the same service layer, with an operator
 * certificate acting as a fleet-wide owner. Handlers only convert.
 */
type ConfigMethods = Pick<
  ServiceImpl<typeof OperatorService>,
  | "listVirtualHosts"
  | "createVirtualHost"
  | "getVirtualHost"
  | "updateVirtualHost"
  | "deleteVirtualHost"
  | "listUpstreams"
  | "createUpstream"
  | "getUpstream"
  | "updateUpstream"
  | "deleteUpstream"
  | "listCertificates"
  | "createCertificate"
  | "getCertificate"
  | "deleteCertificate"
  | "queryAccessLogs"
  | "getWorkspaceMetrics"
  | "getAgentMetrics"
>;

function principalOf(context: HandlerContext): Principal {
  const peer = context.values.get(peerKey);
  if (!peer) throw new Error("operator service mounted without requireRole");
  return operatorPrincipal(peer.identity.id);
}

/** Zero means "not given" in proto3; REST's defaults apply. */
function page(request: { page: number; perPage: number }) {
  return { page: request.page || 1, perPage: request.perPage || 20 };
}

export function operatorConfigMethods(fleet: Fleet): ConfigMethods {
  const deps = fleet.deps;
  return {
    async listVirtualHosts(request, context) {
      const result = await listVirtualHosts(
        deps,
        principalOf(context),
        request.workspaceId,
        page(request),
      );
      return { virtualHosts: result.items.map(virtualHostToProto), total: result.total };
    },
    async createVirtualHost(request, context) {
      const row = await createVirtualHost(
        deps,
        principalOf(context),
        request.workspaceId,
        virtualHostInputFromProto(request),
      );
      return { virtualHost: virtualHostToProto(row) };
    },
    async getVirtualHost(request, context) {
      return {
        virtualHost: virtualHostToProto(
          await getVirtualHost(deps, principalOf(context), request.id),
        ),
      };
    },
    async updateVirtualHost(request, context) {
      const row = await updateVirtualHost(
        deps,
        principalOf(context),
        request.id,
        virtualHostPatchFromProto(request),
      );
      return { virtualHost: virtualHostToProto(row) };
    },
    async deleteVirtualHost(request, context) {
      await deleteVirtualHost(deps, principalOf(context), request.id);
      return {};
    },
    async listUpstreams(request, context) {
      const result = await listUpstreams(
        deps,
        principalOf(context),
        request.workspaceId,
        page(request),
      );
      return { upstreams: result.items.map(upstreamToProto), total: result.total };
    },
    async createUpstream(request, context) {
      const row = await createUpstream(
        deps,
        principalOf(context),
        request.workspaceId,
        upstreamInputFromProto(request),
      );
      return { upstream: upstreamToProto(row) };
    },
    async getUpstream(request, context) {
      return {
        upstream: upstreamToProto(await getUpstream(deps, principalOf(context), request.id)),
      };
    },
    async updateUpstream(request, context) {
      const row = await updateUpstream(
        deps,
        principalOf(context),
        request.id,
        upstreamPatchFromProto(request),
      );
      return { upstream: upstreamToProto(row) };
    },
    async deleteUpstream(request, context) {
      await deleteUpstream(deps, principalOf(context), request.id);
      return {};
    },
    async listCertificates(request, context) {
      const result = await listCertificates(
        deps,
        principalOf(context),
        request.workspaceId,
        page(request),
      );
      return { certificates: result.items.map(tlsCertificateToProto), total: result.total };
    },
    async createCertificate(request, context) {
      const row = await createCertificate(
        deps,
        principalOf(context),
        request.workspaceId,
        certificateInputFromProto(request),
      );
      return { certificate: tlsCertificateToProto(row) };
    },
    async getCertificate(request, context) {
      return {
        certificate: tlsCertificateToProto(
          await getCertificate(deps, principalOf(context), request.id),
        ),
      };
    },
    async deleteCertificate(request, context) {
      await deleteCertificate(deps, principalOf(context), request.id);
      return {};
    },
    async queryAccessLogs(request, context) {
      const query = accessLogQueryFromProto(request);
      const result = await queryAccessLogs(deps, principalOf(context), request.workspaceId, query);
      return {
        entries: result.items.map(accessLogToProto),
        total: BigInt(result.total),
        limit: query.limit,
      };
    },
    async getWorkspaceMetrics(request, context) {
      const metrics = await workspaceMetrics(
        deps,
        principalOf(context),
        request.workspaceId,
        timeWindowFromProto(request),
      );
      return { metrics: metricsToProto(metrics) };
    },
    async getAgentMetrics(request, context) {
      const metrics = await agentMetrics(
        fleet,
        principalOf(context),
        request.agentId,
        timeWindowFromProto(request),
      );
      return { metrics: metricsToProto(metrics) };
    },
  };
}
