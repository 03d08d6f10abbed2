import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { invalidField } from "../errors/index.ts";
import {
  type AccessLog,
  AccessLogSchema,
  type Certificate,
  CertificateProvider as CertificateProviderEnum,
  CertificateSchema,
  CertificateStatus as CertificateStatusEnum,
  type CreateCertificateRequest,
  type CreateUpstreamRequest,
  type CreateVirtualHostRequest,
  type Location,
  type Metrics,
  MetricsSchema,
  type QueryAccessLogsRequest,
  RewriteFlag as RewriteFlagEnum,
  type TargetAgents as TargetAgentsMessage,
  TargetAgentsType,
  type UpdateUpstreamRequest,
  type UpdateVirtualHostRequest,
  type Upstream,
  UpstreamAlgorithm as UpstreamAlgorithmEnum,
  type UpstreamHealthCheck,
  UpstreamSchema,
  type UpstreamServer as UpstreamServerMessage,
  type VirtualHost,
  VirtualHostSchema,
} from "../gen/drover/v1/operator_pb.ts";
import type {
  AccessLogRow,
  HealthCheckSpec,
  LocationSpec,
  RewriteFlag,
  TargetAgents,
  TlsCertificateRow,
  TlsCertificateStatus,
  TlsProvider,
  UpstreamAlgorithm,
  UpstreamRow,
  UpstreamServer,
  VirtualHostRow,
} from "../store/index.ts";
import type {
  AccessLogQuery,
  CertificateInput,
  MetricsWindow,
  TrafficMetrics,
  UpstreamInput,
  VirtualHostInput,
} from "../tenancy/index.ts";

/**
 * Proto ↔ domain conversions of virtual hosts, upstreams, certificates,
 * access logs and metrics. Only shapes change here: every rule is the
 * service layer's. Unset optional fields take REST's defaults.
 */

/** The defaults REST's schemas (lib/rest/config-schemas.ts) fill in. */
const restDefaults = {
  algorithm: "round_robin",
  server: { weight: 1, maxFails: 1, failTimeout: 10 },
  healthCheck: { enabled: true, interval: 10, timeout: 5 },
  autoRenew: true,
  accessLogLimit: 100,
} as const;

/** Domain value → proto enum; the reverse refuses UNSPECIFIED and unknown numbers. */
function enumMapping<T extends string, E extends number>(
  values: Record<T, E>,
  refusal: string,
): { toProto: (value: T) => E; fromProto: (field: string, value: E) => T } {
  const reverse = new Map<number, T>(
    Object.entries(values).map(([name, number]) => [number as number, name as T]),
  );
  return {
    toProto: (value) => values[value],
    fromProto: (field, value) => {
      const found = reverse.get(value);
      if (found === undefined) throw invalidField(field, refusal);
      return found;
    },
  };
}

// The refusals read as the service layer's, which checks the same fields.
const rewriteFlags = enumMapping<RewriteFlag, RewriteFlagEnum>(
  {
    last: RewriteFlagEnum.LAST,
    break: RewriteFlagEnum.BREAK,
    redirect: RewriteFlagEnum.REDIRECT,
    permanent: RewriteFlagEnum.PERMANENT,
  },
  "must be last, break, redirect or permanent",
);

const algorithms = enumMapping<UpstreamAlgorithm, UpstreamAlgorithmEnum>(
  {
    round_robin: UpstreamAlgorithmEnum.ROUND_ROBIN,
    least_connections: UpstreamAlgorithmEnum.LEAST_CONNECTIONS,
    ip_hash: UpstreamAlgorithmEnum.IP_HASH,
    hash: UpstreamAlgorithmEnum.HASH,
  },
  "must be one of round_robin, least_connections, ip_hash, hash",
);

const providers = enumMapping<TlsProvider, CertificateProviderEnum>(
  {
    internal: CertificateProviderEnum.INTERNAL,
    letsencrypt: CertificateProviderEnum.LETSENCRYPT,
    acme: CertificateProviderEnum.ACME,
  },
  "must be one of internal, letsencrypt, acme",
);

const certificateStatuses: Record<TlsCertificateStatus, CertificateStatusEnum> = {
  pending: CertificateStatusEnum.PENDING,
  active: CertificateStatusEnum.ACTIVE,
  failed: CertificateStatusEnum.FAILED,
  expired: CertificateStatusEnum.EXPIRED,
  revoked: CertificateStatusEnum.REVOKED,
};

const dateOf = (timestamp: Timestamp | undefined) =>
  timestamp === undefined ? undefined : timestampDate(timestamp);

const timestampOf = (date: Date | null) => (date === null ? undefined : timestampFromDate(date));

// Virtual hosts

function locationFromProto(field: string, location: Location): LocationSpec {
  return {
    path: location.path,
    ...(location.upstreamId === undefined ? {} : { upstreamId: location.upstreamId }),
    ...(location.proxyPass === undefined ? {} : { proxyPass: location.proxyPass }),
    ...(location.root === undefined ? {} : { root: location.root }),
    ...(location.index === undefined ? {} : { index: location.index }),
    customHeaders: location.customHeaders.map(({ name, value, always }) => ({
      name,
      value,
      ...(always === undefined ? {} : { always }),
    })),
    ...(Object.keys(location.customDirectives).length === 0
      ? {}
      : { customDirectives: { ...location.customDirectives } }),
    rewrites: location.rewrites.map(({ pattern, replacement, flag }, i) => ({
      pattern,
      replacement,
      flag: rewriteFlags.fromProto(`${field}.rewrites.${i}.flag`, flag),
    })),
  };
}

function locationsFromProto(locations: Location[]): LocationSpec[] {
  return locations.map((location, i) => locationFromProto(`locations.${i}`, location));
}

function targetFromProto(target: TargetAgentsMessage): TargetAgents {
  if (target.type === TargetAgentsType.ALL) {
    if (target.labelSelector !== undefined) {
      throw invalidField("target_agents.label_selector", "is only used with type selector");
    }
    return { type: "all" };
  }
  if (target.type === TargetAgentsType.SELECTOR) {
    // Unset reads as empty, which the service layer refuses.
    return { type: "selector", labelSelector: target.labelSelector ?? "" };
  }
  throw invalidField("target_agents.type", "must be all or selector");
}

export function virtualHostInputFromProto(request: CreateVirtualHostRequest): VirtualHostInput {
  return {
    name: request.name,
    serverName: request.serverName,
    listenPort: request.listenPort,
    sslEnabled: request.sslEnabled,
    sslCertificateId: request.sslCertificateId ?? null,
    http2Enabled: request.http2Enabled,
    http3Enabled: request.http3Enabled,
    customDirectives: { ...request.customDirectives },
    locations: locationsFromProto(request.locations),
    targetAgents: request.targetAgents ? targetFromProto(request.targetAgents) : { type: "all" },
  };
}

/** Unset fields stay undefined: the service layer keeps the stored ones. */
export function virtualHostPatchFromProto(
  request: UpdateVirtualHostRequest,
): Partial<VirtualHostInput> {
  return {
    name: request.name,
    serverName: request.serverName,
    listenPort: request.listenPort,
    sslEnabled: request.sslEnabled,
    sslCertificateId: request.sslCertificateId && (request.sslCertificateId.value ?? null),
    http2Enabled: request.http2Enabled,
    http3Enabled: request.http3Enabled,
    customDirectives: request.customDirectives && { ...request.customDirectives.values },
    locations: request.locations && locationsFromProto(request.locations.values),
    targetAgents: request.targetAgents && targetFromProto(request.targetAgents),
  };
}

export function virtualHostToProto(row: VirtualHostRow): VirtualHost {
  return create(VirtualHostSchema, {
    id: row.id,
    workspaceId: row.workspaceId,
    name: row.name,
    serverName: row.serverName,
    listenPort: row.listenPort,
    sslEnabled: row.sslEnabled,
    sslCertificateId: row.sslCertificateId ?? undefined,
    http2Enabled: row.http2Enabled,
    http3Enabled: row.http3Enabled,
    customDirectives: { ...row.customDirectives },
    locations: row.locations.map((location) => ({
      path: location.path,
      upstreamId: location.upstreamId,
      proxyPass: location.proxyPass,
      root: location.root,
      index: location.index,
      customHeaders: location.customHeaders.map(({ name, value, always }) => ({
        name,
        value,
        always: always !== false,
      })),
      customDirectives: { ...location.customDirectives },
      rewrites: location.rewrites.map(({ pattern, replacement, flag }) => ({
        pattern,
        replacement,
        flag: rewriteFlags.toProto(flag),
      })),
    })),
    targetAgents:
      row.targetAgents.type === "all"
        ? { type: TargetAgentsType.ALL }
        : { type: TargetAgentsType.SELECTOR, labelSelector: row.targetAgents.labelSelector },
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
  });
}

// Upstreams

function serversFromProto(servers: UpstreamServerMessage[]): UpstreamServer[] {
  const defaults = restDefaults.server;
  return servers.map((server) => ({
    address: server.address,
    weight: server.weight ?? defaults.weight,
    backup: server.backup,
    down: server.down,
    maxFails: server.maxFails ?? defaults.maxFails,
    failTimeout: server.failTimeout ?? defaults.failTimeout,
  }));
}

function healthCheckFromProto(check: UpstreamHealthCheck | undefined): HealthCheckSpec | null {
  if (check === undefined) return null;
  const defaults = restDefaults.healthCheck;
  return {
    enabled: check.enabled ?? defaults.enabled,
    path: check.path,
    interval: check.interval ?? defaults.interval,
    timeout: check.timeout ?? defaults.timeout,
    ...(check.healthyThreshold === undefined ? {} : { healthyThreshold: check.healthyThreshold }),
    ...(check.unhealthyThreshold === undefined
      ? {}
      : { unhealthyThreshold: check.unhealthyThreshold }),
  };
}

export function upstreamInputFromProto(request: CreateUpstreamRequest): UpstreamInput {
  return {
    name: request.name,
    algorithm:
      request.algorithm === UpstreamAlgorithmEnum.UNSPECIFIED
        ? restDefaults.algorithm
        : algorithms.fromProto("algorithm", request.algorithm),
    hashKey: request.hashKey ?? null,
    servers: serversFromProto(request.servers),
    keepalive: request.keepalive ?? null,
    healthCheck: healthCheckFromProto(request.healthCheck),
  };
}

/** Unset fields stay undefined; a nullable wrapper given without a value is null. */
export function upstreamPatchFromProto(request: UpdateUpstreamRequest): Partial<UpstreamInput> {
  return {
    name: request.name,
    algorithm:
      request.algorithm === undefined
        ? undefined
        : algorithms.fromProto("algorithm", request.algorithm),
    hashKey: request.hashKey && (request.hashKey.value ?? null),
    servers: request.servers && serversFromProto(request.servers.values),
    keepalive: request.keepalive && (request.keepalive.value ?? null),
    healthCheck: request.healthCheck && healthCheckFromProto(request.healthCheck.value),
  };
}

export function upstreamToProto(row: UpstreamRow): Upstream {
  return create(UpstreamSchema, {
    id: row.id,
    workspaceId: row.workspaceId,
    name: row.name,
    algorithm: algorithms.toProto(row.algorithm),
    hashKey: row.hashKey ?? undefined,
    servers: row.servers.map((server) => ({
      address: server.address,
      weight: server.weight,
      backup: server.backup,
      down: server.down,
      maxFails: server.maxFails,
      failTimeout: server.failTimeout,
    })),
    keepalive: row.keepalive ?? undefined,
    healthCheck: row.healthCheck
      ? {
          enabled: row.healthCheck.enabled,
          path: row.healthCheck.path,
          interval: row.healthCheck.interval,
          timeout: row.healthCheck.timeout,
          healthyThreshold: row.healthCheck.healthyThreshold,
          unhealthyThreshold: row.healthCheck.unhealthyThreshold,
        }
      : undefined,
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
  });
}

// Certificates

export function certificateInputFromProto(request: CreateCertificateRequest): CertificateInput {
  return {
    domain: request.domain,
    provider: providers.fromProto("provider", request.provider),
    autoRenew: request.autoRenew ?? restDefaults.autoRenew,
  };
}

/** A virtual host's TLS certificate record (certificateToProto is the mTLS one). */
export function tlsCertificateToProto(row: TlsCertificateRow): Certificate {
  return create(CertificateSchema, {
    id: row.id,
    workspaceId: row.workspaceId,
    domain: row.domain,
    isWildcard: row.isWildcard,
    provider: providers.toProto(row.provider),
    status: certificateStatuses[row.status],
    issuedAt: timestampOf(row.issuedAt),
    expiresAt: timestampOf(row.expiresAt),
    autoRenew: row.autoRenew,
    createdAt: timestampFromDate(row.createdAt),
    statusMessage: row.statusMessage ?? "",
  });
}

// Access logs and metrics

export function accessLogQueryFromProto(request: QueryAccessLogsRequest): AccessLogQuery {
  return {
    from: dateOf(request.from),
    to: dateOf(request.to),
    status: request.statusCode,
    host: request.host,
    agentId: request.agentId,
    limit: request.limit ?? restDefaults.accessLogLimit,
  };
}

/** Either bound may be left out, as in REST: the last 24 hours by default. */
export function timeWindowFromProto(request: { from?: Timestamp; to?: Timestamp }): MetricsWindow {
  return { from: dateOf(request.from), to: dateOf(request.to) };
}

export function accessLogToProto(row: AccessLogRow): AccessLog {
  return create(AccessLogSchema, {
    id: row.id,
    agentId: row.agentId,
    timestamp: timestampFromDate(row.timestamp),
    remoteAddr: row.remoteAddr,
    method: row.method,
    uri: row.uri,
    protocol: row.protocol,
    host: row.host,
    status: row.status,
    bodyBytesSent: BigInt(row.bodyBytesSent),
    responseTimeMs: row.responseTimeMs,
    userAgent: row.userAgent ?? undefined,
    referer: row.referer ?? undefined,
    requestId: row.requestId ?? undefined,
  });
}

export function metricsToProto(metrics: TrafficMetrics): Metrics {
  return create(MetricsSchema, {
    requestsTotal: BigInt(metrics.requestsTotal),
    requestsPerSecond: metrics.requestsPerSecond,
    errorRate: metrics.errorRate,
    activeConnections: BigInt(metrics.activeConnections),
    bandwidth: {
      inBytes: BigInt(metrics.bandwidth.inBytes),
      outBytes: BigInt(metrics.bandwidth.outBytes),
    },
    statusCodes: {
      status2xx: BigInt(metrics.statusCodes["2xx"]),
      status3xx: BigInt(metrics.statusCodes["3xx"]),
      status4xx: BigInt(metrics.statusCodes["4xx"]),
      status5xx: BigInt(metrics.statusCodes["5xx"]),
    },
  });
}
