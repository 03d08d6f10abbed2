import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { Principal } from "../auth/index.ts";
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
  type MetricsRequest,
  queryAccessLogs,
  type TrafficMetrics,
  updateUpstream,
  updateVirtualHost,
  workspaceMetrics,
} from "../tenancy/index.ts";
import {
  accessLogQueryFromProto,
  accessLogToProto,
  certificateInputFromProto,
  metricsRequestFromProto,
  metricsToProto,
  tlsCertificateToProto,
  trafficBucketToProto,
  upstreamInputFromProto,
  upstreamPatchFromProto,
  upstreamToProto,
  virtualHostInputFromProto,
  virtualHostPatchFromProto,
  virtualHostToProto,
} from "../wire/index.ts";
import { principalOf, resourceHandlers } from "./operator-tenancy.ts";

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

/** A metrics handler: `metrics` gets the request's window and interval, its result is converted. */
function metricsHandler<Request extends { from?: Timestamp; to?: Timestamp; interval: string }>(
  metrics: (
    principal: Principal,
    request: Request,
    window: MetricsRequest,
  ) => Promise<TrafficMetrics>,
) {
  return async (request: Request, context: HandlerContext) => {
    const result = await metrics(principalOf(context), request, metricsRequestFromProto(request));
    return {
      metrics: metricsToProto(result),
      series: (result.series ?? []).map(trafficBucketToProto),
    };
  };
}

export function operatorConfigMethods(fleet: Fleet): ConfigMethods {
  const deps = fleet.deps;
  const virtualHosts = resourceHandlers(deps, "virtualHost", virtualHostToProto);
  const upstreams = resourceHandlers(deps, "upstream", upstreamToProto);
  const certificates = resourceHandlers(deps, "certificate", tlsCertificateToProto);
  return {
    listVirtualHosts: virtualHosts.list(listVirtualHosts, "workspaceId"),
    createVirtualHost: virtualHosts.create(
      createVirtualHost,
      "workspaceId",
      virtualHostInputFromProto,
    ),
    getVirtualHost: virtualHosts.get(getVirtualHost),
    updateVirtualHost: virtualHosts.update(updateVirtualHost, virtualHostPatchFromProto),
    deleteVirtualHost: virtualHosts.delete(deleteVirtualHost),
    listUpstreams: upstreams.list(listUpstreams, "workspaceId"),
    createUpstream: upstreams.create(createUpstream, "workspaceId", upstreamInputFromProto),
    getUpstream: upstreams.get(getUpstream),
    updateUpstream: upstreams.update(updateUpstream, upstreamPatchFromProto),
    deleteUpstream: upstreams.delete(deleteUpstream),
    listCertificates: certificates.list(listCertificates, "workspaceId"),
    createCertificate: certificates.create(
      createCertificate,
      "workspaceId",
      certificateInputFromProto,
    ),
    getCertificate: certificates.get(getCertificate),
    deleteCertificate: certificates.delete(deleteCertificate),
    async queryAccessLogs(request, context) {
      const query = accessLogQueryFromProto(request);
      const result = await queryAccessLogs(deps, principalOf(context), request.workspaceId, query);
      return {
        entries: result.items.map(accessLogToProto),
        total: BigInt(result.total),
        limit: query.limit,
      };
    },
    getWorkspaceMetrics: metricsHandler((principal, request, window) =>
      workspaceMetrics(deps, principal, request.workspaceId, window),
    ),
    getAgentMetrics: metricsHandler((principal, request, window) =>
      agentMetrics(fleet, principal, request.agentId, window),
    ),
  };
}
