import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type AccessLog,
  type AgentConfigStatus,
  type Certificate,
  CertificateProvider,
  CertificateStatus,
  type Metrics,
  RewriteFlag,
  TargetAgentsType,
  type Upstream,
  UpstreamAlgorithm,
  type VirtualHost,
  VirtualHostOutcome,
} from "../../lib/gen/drover/v1/operator_pb.ts";
import { CommandKind, ConfigApplyState } from "../../lib/gen/drover/v1/session_pb.ts";
import type { NewAccessLog } from "../../lib/store/index.ts";
import { type HttpResult, httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";
import { newAgent } from "../support/store-data.ts";

setDefaultTimeout(60_000);

let fleet: InProcessFleet;
let call: ReturnType<typeof httpsClient>;
let token: string;
type Json = Record<string, unknown>;

beforeAll(async () => {
  fleet = await startInProcessFleet({ rateLimitPerMinute: 1_000_000 });
  call = httpsClient(`https://${fleet.server.endpoints.http}`, {
    caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
  });
  const first = fleet.server.firstAdmin as { email: string; password: string };
  token = ((await call("POST", "/v1/auth/login", { body: first })).body as Json)
    .access_token as string;
});
afterAll(() => fleet.stop());

const send = (method: string, path: string, body?: unknown) => call(method, path, { token, body });

/** The body of a request that must succeed with this status. */
async function rest(method: string, path: string, body?: unknown, status = 200): Promise<Json> {
  const result = await send(method, path, body);
  expect({ status: result.status, body: result.body }).toMatchObject({ status });
  return result.body as Json;
}

const post = (path: string, body: unknown) => rest("POST", path, body, 201);
const get = (path: string) => rest("GET", path);

let unique = 0;
/** A fresh organization with one workspace, made over REST. */
async function newWorkspace(): Promise<string> {
  const slug = `grpc-cfg-${++unique}`;
  const org = await post("/v1/organizations", { name: slug, slug });
  return (await post(`/v1/organizations/${org.id}/workspaces`, { name: "Prod", slug: "prod" }))
    .id as string;
}

async function grpcError(pending: Promise<unknown>): Promise<ConnectError> {
  const error = await pending.then(
    () => undefined,
    (reason: unknown) => ConnectError.from(reason),
  );
  if (!error) throw new Error("the call succeeded");
  return error;
}

/** A REST error response: its status, code and message. */
function restError(result: HttpResult) {
  const error = (result.body as Json).error as Json;
  return {
    status: result.status,
    code: error.code as string,
    message: error.message as string,
    fields: (error.details as { field: string }[]).map((detail) => detail.field),
  };
}

// The gRPC messages in the REST shape, to compare field by field.

/** UPSTREAM_ALGORITHM_ROUND_ROBIN → "round_robin": the enum names are REST's values. */
const lower = (names: Record<number, string>, value: number) => names[value]?.toLowerCase();

const iso = (timestamp: Timestamp | undefined) =>
  timestamp === undefined ? null : timestampDate(timestamp).toISOString();

function virtualHostAsRest(message: VirtualHost | undefined) {
  if (!message) throw new Error("no virtual host");
  const target = message.targetAgents;
  return {
    id: message.id,
    workspace_id: message.workspaceId,
    name: message.name,
    server_name: message.serverName,
    listen_port: message.listenPort,
    ssl_enabled: message.sslEnabled,
    ssl_certificate_id: message.sslCertificateId ?? null,
    http2_enabled: message.http2Enabled,
    http3_enabled: message.http3Enabled,
    custom_directives: message.customDirectives,
    locations: message.locations.map((location) => ({
      path: location.path,
      ...(location.upstreamId === undefined ? {} : { upstream_id: location.upstreamId }),
      ...(location.proxyPass === undefined ? {} : { proxy_pass: location.proxyPass }),
      custom_headers: location.customHeaders.map(({ name, value, always }) => ({
        name,
        value,
        always,
      })),
      custom_directives: location.customDirectives,
      rewrites: location.rewrites.map(({ pattern, replacement, flag }) => ({
        pattern,
        replacement,
        flag: lower(RewriteFlag, flag),
      })),
    })),
    target_agents:
      target?.type === TargetAgentsType.SELECTOR
        ? { type: "selector", label_selector: target.labelSelector }
        : { type: lower(TargetAgentsType, target?.type ?? 0) },
    created_at: iso(message.createdAt),
    updated_at: iso(message.updatedAt),
  };
}

function upstreamAsRest(message: Upstream | undefined) {
  if (!message) throw new Error("no upstream");
  const check = message.healthCheck;
  return {
    id: message.id,
    workspace_id: message.workspaceId,
    name: message.name,
    algorithm: lower(UpstreamAlgorithm, message.algorithm),
    hash_key: message.hashKey ?? null,
    servers: message.servers.map((server) => ({
      address: server.address,
      weight: server.weight,
      backup: server.backup,
      down: server.down,
      max_fails: server.maxFails,
      fail_timeout: server.failTimeout,
    })),
    keepalive: message.keepalive ?? null,
    health_check: check
      ? {
          enabled: check.enabled,
          path: check.path,
          interval: check.interval,
          timeout: check.timeout,
          ...(check.healthyThreshold === undefined
            ? {}
            : { healthy_threshold: check.healthyThreshold }),
          ...(check.unhealthyThreshold === undefined
            ? {}
            : { unhealthy_threshold: check.unhealthyThreshold }),
        }
      : null,
    created_at: iso(message.createdAt),
    updated_at: iso(message.updatedAt),
  };
}

function certificateAsRest(message: Certificate | undefined) {
  if (!message) throw new Error("no certificate");
  return {
    id: message.id,
    workspace_id: message.workspaceId,
    domain: message.domain,
    is_wildcard: message.isWildcard,
    provider: lower(CertificateProvider, message.provider),
    status: lower(CertificateStatus, message.status),
    status_message: message.statusMessage === "" ? null : message.statusMessage,
    issued_at: iso(message.issuedAt),
    expires_at: iso(message.expiresAt),
    auto_renew: message.autoRenew,
    created_at: iso(message.createdAt),
  };
}

function accessLogAsRest(message: AccessLog) {
  return {
    id: message.id,
    agent_id: message.agentId,
    timestamp: iso(message.timestamp),
    remote_addr: message.remoteAddr,
    method: message.method,
    uri: message.uri,
    protocol: message.protocol,
    host: message.host,
    status: message.status,
    body_bytes_sent: Number(message.bodyBytesSent),
    response_time_ms: message.responseTimeMs,
    user_agent: message.userAgent ?? null,
    referer: message.referer ?? null,
    request_id: message.requestId ?? null,
  };
}

function agentConfigAsRest(message: AgentConfigStatus | undefined) {
  if (!message) throw new Error("no configuration status");
  return {
    agent_id: message.agentId,
    config_id: message.version ?? null,
    version: Number(message.configVersion),
    config_hash: message.version ?? null,
    desired_version: Number(message.desiredConfigVersion),
    desired_config_hash: message.desiredVersion ?? null,
    state: lower(ConfigApplyState, message.state),
    applied_version:
      message.appliedConfigVersion === undefined ? null : Number(message.appliedConfigVersion),
    applied_config_hash: message.appliedVersion ?? null,
    applied_at: iso(message.appliedAt),
    duration_ms: message.durationMs ?? null,
    error_message: message.errors.length === 0 ? null : message.errors.join("; "),
    errors: message.errors,
    steps: message.steps.map((step) => ({
      name: step.name,
      ok: step.ok,
      duration_ms: step.durationMs,
      ...(step.detail === "" ? {} : { detail: step.detail }),
    })),
    virtual_hosts: message.virtualHosts.map((host) => ({
      id: host.id,
      status: lower(VirtualHostOutcome, host.status),
      ...(host.reason === undefined ? {} : { reason: host.reason }),
      ...(host.field === undefined ? {} : { field: host.field }),
    })),
    files: message.files.map((file) => ({
      id: file.id,
      path: file.path,
      status: "set_aside",
      reason: file.reason,
    })),
    updated_at: iso(message.updatedAt),
  };
}

function metricsAsRest(message: Metrics | undefined) {
  if (!message) throw new Error("no metrics");
  return {
    requests_total: Number(message.requestsTotal),
    requests_per_second: message.requestsPerSecond,
    error_rate: message.errorRate,
    active_connections: Number(message.activeConnections),
    bandwidth: {
      in_bytes: Number(message.bandwidth?.inBytes),
      out_bytes: Number(message.bandwidth?.outBytes),
    },
    status_codes: {
      "2xx": Number(message.statusCodes?.status2xx),
      "3xx": Number(message.statusCodes?.status3xx),
      "4xx": Number(message.statusCodes?.status4xx),
      "5xx": Number(message.statusCodes?.status5xx),
    },
  };
}

/** Everything but what differs between two objects made from the same input. */
const sameInput = ({ id: _, name: __, created_at: ___, updated_at: ____, ...rest }: Json) => rest;

describe("virtual hosts", () => {
  test("made on one side, read the same on the other; updated over gRPC, deleted over REST", async () => {
    const ws = await newWorkspace();
    const upstream = await post(`/v1/workspaces/${ws}/upstreams`, {
      name: "api",
      servers: [{ address: "10.0.1.20:8080" }],
    });
    const cert = await post(`/v1/workspaces/${ws}/certificates`, {
      domain: "example.com",
      provider: "internal",
    });

    const { virtualHost } = await fleet.operator.createVirtualHost({
      workspaceId: ws,
      name: "site",
      serverName: "example.com www.example.com",
      listenPort: 443,
      sslEnabled: true,
      sslCertificateId: cert.id as string,
      http2Enabled: true,
      http3Enabled: true,
      locations: [
        {
          path: "/api",
          upstreamId: upstream.id as string,
          customHeaders: [
            { name: "X-Forwarded-Proto", value: "$scheme" },
            { name: "X-Frame-Options", value: "DENY", always: false },
          ],
          customDirectives: { client_max_body_size: "10m" },
          rewrites: [
            { pattern: "^/old/(.*)$", replacement: "/new/$1", flag: RewriteFlag.PERMANENT },
          ],
        },
        { path: "/health", proxyPass: "http://localhost:8080/health" },
      ],
      targetAgents: { type: TargetAgentsType.SELECTOR, labelSelector: "env=production" },
    });
    const viaRest = await get(`/v1/virtual-hosts/${virtualHost?.id}`);
    expect(viaRest).toEqual(virtualHostAsRest(virtualHost));
    expect(viaRest).toMatchObject({
      ssl_certificate_id: cert.id,
      target_agents: { type: "selector", label_selector: "env=production" },
    });
    // The seed's Header.always and custom directives made over gRPC read the same over REST.
    expect((viaRest.locations as Json[])[0]).toMatchObject({
      custom_headers: [{ always: true }, { name: "X-Frame-Options", always: false }],
      custom_directives: { client_max_body_size: "10m" },
    });

    // Defaults: the same minimal input on both sides makes the same object.
    const minimal = { name: "plain", serverName: "plain.example.com", listenPort: 80 };
    const restMade = await post(`/v1/workspaces/${ws}/virtual-hosts`, {
      name: minimal.name,
      server_name: minimal.serverName,
      listen_port: minimal.listenPort,
    });
    const grpcRead = await fleet.operator.getVirtualHost({ id: restMade.id as string });
    expect(restMade).toEqual(virtualHostAsRest(grpcRead.virtualHost));
    const grpcMade = await fleet.operator.createVirtualHost({
      workspaceId: ws,
      ...minimal,
      name: "plain-2",
    });
    expect(sameInput(virtualHostAsRest(grpcMade.virtualHost))).toEqual(sameInput(restMade));

    const listed = await fleet.operator.listVirtualHosts({ workspaceId: ws, perPage: 2 });
    const restListed = await get(`/v1/workspaces/${ws}/virtual-hosts?per_page=2`);
    expect(restListed.data).toEqual(listed.virtualHosts.map(virtualHostAsRest));
    expect(listed.total).toBe(3);
    expect((restListed.meta as Json).total).toBe(listed.total);
    const second = await fleet.operator.listVirtualHosts({ workspaceId: ws, page: 2, perPage: 2 });
    expect((await get(`/v1/workspaces/${ws}/virtual-hosts?page=2&per_page=2`)).data).toEqual(
      second.virtualHosts.map(virtualHostAsRest),
    );

    // Only the fields given change: here the name, and nothing else.
    const renamed = await fleet.operator.updateVirtualHost({
      id: virtualHost?.id ?? "",
      name: "site-2",
    });
    const afterRename = await get(`/v1/virtual-hosts/${virtualHost?.id}`);
    expect(afterRename).toEqual(virtualHostAsRest(renamed.virtualHost));
    expect(sameInput(afterRename)).toEqual(sameInput(viaRest));

    // An empty wrapper empties the list; an empty NullableString clears the certificate.
    const updated = await fleet.operator.updateVirtualHost({
      id: virtualHost?.id ?? "",
      listenPort: 8080,
      sslEnabled: false,
      sslCertificateId: {},
      http3Enabled: false,
      locations: { values: [] },
      targetAgents: { type: TargetAgentsType.ALL },
    });
    const afterUpdate = await get(`/v1/virtual-hosts/${virtualHost?.id}`);
    expect(afterUpdate).toEqual(virtualHostAsRest(updated.virtualHost));
    expect(afterUpdate).toMatchObject({
      name: "site-2",
      listen_port: 8080,
      ssl_enabled: false,
      ssl_certificate_id: null,
      http2_enabled: true,
      http3_enabled: false,
      locations: [],
      target_agents: { type: "all" },
    });

    expect((await send("DELETE", `/v1/virtual-hosts/${virtualHost?.id}`)).status).toBe(204);
    const gone = await grpcError(fleet.operator.getVirtualHost({ id: virtualHost?.id ?? "" }));
    expect(gone.code).toBe(Code.NotFound);
    expect(gone.rawMessage).toBe(
      restError(await send("GET", `/v1/virtual-hosts/${virtualHost?.id}`)).message,
    );
  });
});

describe("upstreams", () => {
  test("made on one side, read the same on the other; updated over gRPC, deleted over REST", async () => {
    const ws = await newWorkspace();
    // Defaults: servers with only an address, no algorithm, no health check.
    const restMade = await post(`/v1/workspaces/${ws}/upstreams`, {
      name: "defaults",
      servers: [{ address: "a.lan:80" }],
      health_check: { path: "/health" },
    });
    const grpcMade = await fleet.operator.createUpstream({
      workspaceId: ws,
      name: "defaults-2",
      servers: [{ address: "a.lan:80" }],
      healthCheck: { path: "/health" },
    });
    expect(sameInput(upstreamAsRest(grpcMade.upstream))).toEqual(sameInput(restMade));
    expect(restMade).toEqual(
      upstreamAsRest((await fleet.operator.getUpstream({ id: restMade.id as string })).upstream),
    );

    const { upstream } = await fleet.operator.createUpstream({
      workspaceId: ws,
      name: "hashed",
      algorithm: UpstreamAlgorithm.HASH,
      hashKey: "$request_uri",
      servers: [
        { address: "10.0.1.20:8080", weight: 3, maxFails: 0, failTimeout: 30 },
        { address: "[2001:db8::1]:8080", down: true },
      ],
      keepalive: 32,
      healthCheck: {
        enabled: false,
        path: "/ping",
        interval: 30,
        timeout: 2,
        healthyThreshold: 4,
        unhealthyThreshold: 6,
      },
    });
    const viaRest = await get(`/v1/upstreams/${upstream?.id}`);
    expect(viaRest).toEqual(upstreamAsRest(upstream));
    expect(viaRest).toMatchObject({
      algorithm: "hash",
      hash_key: "$request_uri",
      keepalive: 32,
      servers: [{ weight: 3, max_fails: 0, fail_timeout: 30 }, { down: true }],
      health_check: { healthy_threshold: 4, unhealthy_threshold: 6 },
    });

    const listed = await fleet.operator.listUpstreams({ workspaceId: ws });
    const restListed = await get(`/v1/workspaces/${ws}/upstreams`);
    expect(restListed.data).toEqual(listed.upstreams.map(upstreamAsRest));
    expect((restListed.meta as Json).total).toBe(listed.total);

    // Away from hash the key goes; empty wrappers clear keepalive and the health check.
    const updated = await fleet.operator.updateUpstream({
      id: upstream?.id ?? "",
      algorithm: UpstreamAlgorithm.LEAST_CONNECTIONS,
      servers: { values: [{ address: "b.lan:81" }] },
      keepalive: {},
      healthCheck: {},
    });
    const afterUpdate = await get(`/v1/upstreams/${upstream?.id}`);
    expect(afterUpdate).toEqual(upstreamAsRest(updated.upstream));
    expect(afterUpdate).toMatchObject({
      name: "hashed",
      algorithm: "least_connections",
      hash_key: null,
      servers: [{ address: "b.lan:81", weight: 1, max_fails: 1, fail_timeout: 10 }],
      keepalive: null,
      health_check: null,
    });
    // Zero is a value, not "unset".
    const zero = await fleet.operator.updateUpstream({
      id: upstream?.id ?? "",
      keepalive: { value: 0 },
    });
    expect(await get(`/v1/upstreams/${upstream?.id}`)).toEqual(upstreamAsRest(zero.upstream));
    expect(zero.upstream?.keepalive).toBe(0);

    // In use: the same refusal on both sides.
    await post(`/v1/workspaces/${ws}/virtual-hosts`, {
      name: "user",
      server_name: "user.example.com",
      listen_port: 80,
      locations: [{ path: "/", upstream_id: upstream?.id }],
    });
    const inUse = await grpcError(fleet.operator.deleteUpstream({ id: upstream?.id ?? "" }));
    expect(inUse.code).toBe(Code.FailedPrecondition);
    const restInUse = restError(await send("DELETE", `/v1/upstreams/${upstream?.id}`));
    expect(restInUse).toMatchObject({ status: 409, code: "CONFLICT", message: inUse.rawMessage });

    expect((await send("DELETE", `/v1/upstreams/${restMade.id}`)).status).toBe(204);
    const gone = await grpcError(fleet.operator.getUpstream({ id: restMade.id as string }));
    expect(gone.code).toBe(Code.NotFound);
  });
});

describe("certificates", () => {
  test("made on one side, read the same on the other; deleted over REST", async () => {
    const ws = await newWorkspace();
    const { certificate } = await fleet.operator.createCertificate({
      workspaceId: ws,
      domain: "*.Example.COM",
      provider: CertificateProvider.ACME,
    });
    const viaRest = await get(`/v1/certificates/${certificate?.id}`);
    expect(viaRest).toEqual(certificateAsRest(certificate));
    expect(viaRest).toMatchObject({
      domain: "*.example.com",
      is_wildcard: true,
      provider: "acme",
      status: "pending",
      issued_at: null,
      auto_renew: true,
    });

    const restMade = await post(`/v1/workspaces/${ws}/certificates`, {
      domain: "api.example.com",
      provider: "letsencrypt",
      auto_renew: false,
    });
    expect(restMade).toEqual(
      certificateAsRest(
        (await fleet.operator.getCertificate({ id: restMade.id as string })).certificate,
      ),
    );
    const grpcMade = await fleet.operator.createCertificate({
      workspaceId: ws,
      domain: "internal.lan",
      provider: CertificateProvider.INTERNAL,
      autoRenew: false,
    });
    expect(grpcMade.certificate?.autoRenew).toBe(false);

    const listed = await fleet.operator.listCertificates({ workspaceId: ws });
    const restListed = await get(`/v1/workspaces/${ws}/certificates`);
    expect(restListed.data).toEqual(listed.certificates.map(certificateAsRest));
    expect(listed.total).toBe(3);

    // A duplicate domain: the same conflict on both sides.
    const duplicate = await grpcError(
      fleet.operator.createCertificate({
        workspaceId: ws,
        domain: "API.example.com",
        provider: CertificateProvider.INTERNAL,
      }),
    );
    expect(duplicate.code).toBe(Code.AlreadyExists);
    const restDuplicate = restError(
      await send("POST", `/v1/workspaces/${ws}/certificates`, {
        domain: "API.example.com",
        provider: "internal",
      }),
    );
    expect(restDuplicate).toMatchObject({ status: 409, message: duplicate.rawMessage });

    expect((await send("DELETE", `/v1/certificates/${certificate?.id}`)).status).toBe(204);
    const gone = await grpcError(fleet.operator.getCertificate({ id: certificate?.id ?? "" }));
    expect(gone.code).toBe(Code.NotFound);
  });
});

describe("the service layer refuses the same input on both sides", () => {
  test("REST's 422 and gRPC's InvalidArgument carry the identical message", async () => {
    const ws = await newWorkspace();
    const t = (minute: number) => new Date(Date.UTC(2026, 2, 2, 10, minute));
    const cases: [string, () => Promise<unknown>, string, string, unknown][] = [
      [
        "backup with ip_hash",
        () =>
          fleet.operator.createUpstream({
            workspaceId: ws,
            name: "u",
            algorithm: UpstreamAlgorithm.IP_HASH,
            servers: [{ address: "a.lan:80" }, { address: "b.lan:80", backup: true }],
          }),
        "POST",
        `/v1/workspaces/${ws}/upstreams`,
        {
          name: "u",
          algorithm: "ip_hash",
          servers: [{ address: "a.lan:80" }, { address: "b.lan:80", backup: true }],
        },
      ],
      [
        "a location path without /",
        () =>
          fleet.operator.createVirtualHost({
            workspaceId: ws,
            name: "v",
            serverName: "v.example.com",
            listenPort: 80,
            locations: [{ path: "api", proxyPass: "http://localhost:8080" }],
          }),
        "POST",
        `/v1/workspaces/${ws}/virtual-hosts`,
        {
          name: "v",
          server_name: "v.example.com",
          listen_port: 80,
          locations: [{ path: "api", proxy_pass: "http://localhost:8080" }],
        },
      ],
      [
        "a bad port in a server address",
        () =>
          fleet.operator.createUpstream({
            workspaceId: ws,
            name: "u",
            servers: [{ address: "10.0.0.1:70000" }],
          }),
        "POST",
        `/v1/workspaces/${ws}/upstreams`,
        { name: "u", servers: [{ address: "10.0.0.1:70000" }] },
      ],
      [
        "hash without a key",
        () =>
          fleet.operator.createUpstream({
            workspaceId: ws,
            name: "u",
            algorithm: UpstreamAlgorithm.HASH,
            servers: [{ address: "a.lan:80" }],
          }),
        "POST",
        `/v1/workspaces/${ws}/upstreams`,
        { name: "u", algorithm: "hash", servers: [{ address: "a.lan:80" }] },
      ],
      [
        "a health check timeout not under its interval",
        () =>
          fleet.operator.createUpstream({
            workspaceId: ws,
            name: "u",
            servers: [{ address: "a.lan:80" }],
            healthCheck: { path: "/h", interval: 5, timeout: 5 },
          }),
        "POST",
        `/v1/workspaces/${ws}/upstreams`,
        {
          name: "u",
          servers: [{ address: "a.lan:80" }],
          health_check: { path: "/h", interval: 5, timeout: 5 },
        },
      ],
      [
        "HTTP/3 without TLS",
        () =>
          fleet.operator.createVirtualHost({
            workspaceId: ws,
            name: "v",
            serverName: "v.example.com",
            listenPort: 80,
            http3Enabled: true,
          }),
        "POST",
        `/v1/workspaces/${ws}/virtual-hosts`,
        { name: "v", server_name: "v.example.com", listen_port: 80, http3_enabled: true },
      ],
      [
        "a bad label selector",
        () =>
          fleet.operator.createVirtualHost({
            workspaceId: ws,
            name: "v",
            serverName: "v.example.com",
            listenPort: 80,
            targetAgents: { type: TargetAgentsType.SELECTOR, labelSelector: "  " },
          }),
        "POST",
        `/v1/workspaces/${ws}/virtual-hosts`,
        {
          name: "v",
          server_name: "v.example.com",
          listen_port: 80,
          target_agents: { type: "selector", label_selector: "  " },
        },
      ],
      [
        "a domain that is no DNS name",
        () =>
          fleet.operator.createCertificate({
            workspaceId: ws,
            domain: "not a domain",
            provider: CertificateProvider.ACME,
          }),
        "POST",
        `/v1/workspaces/${ws}/certificates`,
        { domain: "not a domain", provider: "acme" },
      ],
      [
        "an access-log window ending before it starts",
        () =>
          fleet.operator.queryAccessLogs({
            workspaceId: ws,
            from: timestampFromDate(t(1)),
            to: timestampFromDate(t(0)),
          }),
        "GET",
        `/v1/workspaces/${ws}/access-logs?from=${t(1).toISOString()}&to=${t(0).toISOString()}`,
        undefined,
      ],
      [
        "a metrics window ending where it starts",
        () =>
          fleet.operator.getWorkspaceMetrics({
            workspaceId: ws,
            from: timestampFromDate(t(1)),
            to: timestampFromDate(t(1)),
          }),
        "GET",
        `/v1/workspaces/${ws}/metrics?from=${t(1).toISOString()}&to=${t(1).toISOString()}`,
        undefined,
      ],
    ];
    for (const [what, viaGrpc, method, path, body] of cases) {
      const grpc = await grpcError(viaGrpc());
      const viaRest = restError(await send(method, path, body));
      expect({ what, code: grpc.code }).toEqual({ what, code: Code.InvalidArgument });
      expect({ what, status: viaRest.status, code: viaRest.code }).toEqual({
        what,
        status: 422,
        code: "VALIDATION_ERROR",
      });
      expect({ what, message: grpc.rawMessage }).toEqual({ what, message: viaRest.message });
    }

    // An update is checked whole, the same way.
    const upstream = await post(`/v1/workspaces/${ws}/upstreams`, {
      name: "u",
      servers: [{ address: "a.lan:80" }, { address: "b.lan:80", backup: true }],
    });
    const grpc = await grpcError(
      fleet.operator.updateUpstream({
        id: upstream.id as string,
        algorithm: UpstreamAlgorithm.HASH,
      }),
    );
    const viaRest = restError(
      await send("PATCH", `/v1/upstreams/${upstream.id}`, { algorithm: "hash" }),
    );
    expect(grpc.code).toBe(Code.InvalidArgument);
    expect(viaRest.status).toBe(422);
    expect(grpc.rawMessage).toBe(viaRest.message);
  });

  test("what REST's schemas refuse first, the service layer refuses over gRPC", async () => {
    const ws = await newWorkspace();
    const vhost = { workspaceId: ws, name: "v", serverName: "v.example.com", listenPort: 80 };
    // [gRPC call, its message, the REST request whose schema names the same field]
    const cases: [() => Promise<unknown>, string, string, string, unknown][] = [
      [
        () => fleet.operator.createVirtualHost({ ...vhost, listenPort: 70000 }),
        "listen_port: must be an integer from 1 to 65535",
        "POST",
        `/v1/workspaces/${ws}/virtual-hosts`,
        { name: "v", server_name: "v.example.com", listen_port: 70000 },
      ],
      [
        () =>
          fleet.operator.createUpstream({
            workspaceId: ws,
            name: "u",
            servers: [{ address: "a.lan:80", weight: 0 }],
          }),
        "servers.0.weight: must be an integer from 1 to 1000",
        "POST",
        `/v1/workspaces/${ws}/upstreams`,
        { name: "u", servers: [{ address: "a.lan:80", weight: 0 }] },
      ],
      [
        () => fleet.operator.createUpstream({ workspaceId: ws, name: "u", servers: [] }),
        "servers: must list at least one server",
        "POST",
        `/v1/workspaces/${ws}/upstreams`,
        { name: "u", servers: [] },
      ],
      [
        () =>
          fleet.operator.createUpstream({
            workspaceId: ws,
            name: "u",
            servers: [{ address: "a.lan:80" }],
            keepalive: 2000,
          }),
        "keepalive: must be an integer from 0 to 1024",
        "POST",
        `/v1/workspaces/${ws}/upstreams`,
        { name: "u", servers: [{ address: "a.lan:80" }], keepalive: 2000 },
      ],
      [
        () =>
          fleet.operator.createVirtualHost({
            ...vhost,
            locations: [
              {
                path: "/",
                proxyPass: "http://a.lan",
                rewrites: [{ pattern: "^/a$", replacement: "/b" }],
              },
            ],
          }),
        "locations.0.rewrites.0.flag: must be last, break, redirect or permanent",
        "POST",
        `/v1/workspaces/${ws}/virtual-hosts`,
        {
          name: "v",
          server_name: "v.example.com",
          listen_port: 80,
          locations: [
            {
              path: "/",
              proxy_pass: "http://a.lan",
              rewrites: [{ pattern: "^/a$", replacement: "/b" }],
            },
          ],
        },
      ],
      [
        () => fleet.operator.createVirtualHost({ ...vhost, targetAgents: {} }),
        "target_agents.type: must be all or selector",
        "POST",
        `/v1/workspaces/${ws}/virtual-hosts`,
        { name: "v", server_name: "v.example.com", listen_port: 80, target_agents: {} },
      ],
      [
        () => fleet.operator.createCertificate({ workspaceId: ws, domain: "a.example.com" }),
        "provider: must be one of internal, letsencrypt, acme",
        "POST",
        `/v1/workspaces/${ws}/certificates`,
        { domain: "a.example.com" },
      ],
      [
        () => fleet.operator.queryAccessLogs({ workspaceId: ws, statusCode: 99 }),
        "status_code: must be an integer from 100 to 599",
        "GET",
        `/v1/workspaces/${ws}/access-logs?status_code=99`,
        undefined,
      ],
      [
        () => fleet.operator.queryAccessLogs({ workspaceId: ws, limit: 0 }),
        "limit: must be an integer from 1 to 1000",
        "GET",
        `/v1/workspaces/${ws}/access-logs?limit=0`,
        undefined,
      ],
      [
        () =>
          fleet.operator.getWorkspaceMetrics({
            workspaceId: ws,
            from: timestampFromDate(new Date("2999-01-01T00:00:00Z")),
          }),
        "to: must be after from",
        "GET",
        `/v1/workspaces/${ws}/metrics?from=2999-01-01T00:00:00Z`,
        undefined,
      ],
      [
        () => fleet.operator.listVirtualHosts({ workspaceId: ws, perPage: 101 }),
        "per_page: must be an integer from 1 to 100",
        "GET",
        `/v1/workspaces/${ws}/virtual-hosts?per_page=101`,
        undefined,
      ],
      [
        () => fleet.operator.listUpstreams({ workspaceId: ws, page: -1 }),
        "page: must be an integer of at least 1",
        "GET",
        `/v1/workspaces/${ws}/upstreams?page=-1`,
        undefined,
      ],
    ];
    for (const [viaGrpc, message, method, path, body] of cases) {
      const grpc = await grpcError(viaGrpc());
      expect({ code: grpc.code, message: grpc.rawMessage }).toEqual({
        code: Code.InvalidArgument,
        message,
      });
      // REST is unchanged: its schema answers first, naming the same field.
      const viaRest = restError(await send(method, path, body));
      expect(viaRest).toMatchObject({ status: 422, code: "VALIDATION_ERROR" });
      expect(viaRest.fields).toContain(message.slice(0, message.indexOf(":")));
    }
  });
});

describe("access logs and metrics", () => {
  test("queries and metrics over the same stored rows are equal on both sides", async () => {
    const ws = await newWorkspace();
    const elsewhere = await newWorkspace();
    const store = fleet.server.fleet.deps.store;
    const agent1 = `ag-grpc-logs1-${unique}`;
    const agent2 = `ag-grpc-logs2-${unique}`;
    await store.agents.insert({ ...newAgent(agent1), workspaceId: ws });
    await store.agents.insert({ ...newAgent(agent2), workspaceId: ws });
    const t = (minute: number, second = 0) => new Date(Date.UTC(2026, 2, 2, 10, minute, second));
    let id = 0;
    const log = (
      timestamp: Date,
      status: number,
      bytes: number,
      extra: Partial<NewAccessLog> = {},
    ) =>
      ({
        id: `glog-${unique}-${++id}`,
        agentId: agent1,
        workspaceId: ws,
        timestamp,
        remoteAddr: "192.168.1.100",
        method: "GET",
        uri: `/r/${id}`,
        protocol: "HTTP/1.1",
        host: "api.example.com",
        status,
        bodyBytesSent: bytes,
        responseTimeMs: 150.5,
        userAgent: "Mozilla/5.0",
        referer: "https://example.com/",
        requestId: `req-${id}`,
        ...extra,
      }) satisfies NewAccessLog;
    const rows = [
      log(t(0, 0), 200, 1000),
      log(t(0, 10), 204, 0, { userAgent: null, referer: null, requestId: null }),
      log(t(0, 20), 301, 50, { agentId: agent2 }),
      log(t(0, 30), 404, 100),
      log(t(0, 40), 500, 123, { agentId: agent2, responseTimeMs: 0.25 }),
      log(t(0, 59), 503, 7),
      log(t(1, 0), 500, 999_999),
      log(t(0, -1), 500, 999_999),
      log(t(0, 30), 500, 999_999, { workspaceId: elsewhere }),
    ];
    expect(await store.accessLogs.insertMany(rows)).toBe(rows.length);
    const from = t(0);
    const to = t(1);
    const window = `from=${from.toISOString()}&to=${to.toISOString()}`;
    const grpcWindow = { from: timestampFromDate(from), to: timestampFromDate(to) };
    const base = `/v1/workspaces/${ws}`;

    const queries: [Parameters<typeof fleet.operator.queryAccessLogs>[0], string][] = [
      [{ workspaceId: ws }, ""],
      [{ workspaceId: ws, ...grpcWindow }, window],
      [{ workspaceId: ws, ...grpcWindow, statusCode: 500 }, `${window}&status_code=500`],
      [{ workspaceId: ws, ...grpcWindow, limit: 2 }, `${window}&limit=2`],
      [{ workspaceId: ws, host: "api.example.com" }, "host=api.example.com"],
      [{ workspaceId: ws, agentId: rows[0]?.agentId }, `agent_id=${rows[0]?.agentId}`],
      [{ workspaceId: ws, from: timestampFromDate(to) }, `from=${to.toISOString()}`],
    ];
    for (const [request, query] of queries) {
      const viaGrpc = await fleet.operator.queryAccessLogs(request);
      const viaRest = await get(`${base}/access-logs?${query}`);
      expect(viaRest).toEqual({
        data: viaGrpc.entries.map(accessLogAsRest),
        meta: { total: Number(viaGrpc.total), limit: viaGrpc.limit },
      });
    }
    const all = await fleet.operator.queryAccessLogs({ workspaceId: ws });
    expect({ total: all.total, limit: all.limit, rows: all.entries.length }).toEqual({
      total: 8n,
      limit: 100,
      rows: 8,
    });
    expect(all.entries.find((entry) => entry.id === rows[1]?.id)?.userAgent).toBeUndefined();

    const workspace = await fleet.operator.getWorkspaceMetrics({ workspaceId: ws, ...grpcWindow });
    expect(await get(`${base}/metrics?${window}`)).toEqual(metricsAsRest(workspace.metrics));
    expect(metricsAsRest(workspace.metrics)).toEqual({
      requests_total: 6,
      requests_per_second: 0.1,
      error_rate: 2 / 6,
      active_connections: 0,
      bandwidth: { in_bytes: 0, out_bytes: 1280 },
      status_codes: { "2xx": 2, "3xx": 1, "4xx": 1, "5xx": 2 },
    });
    const agent = await fleet.operator.getAgentMetrics({ agentId: agent2, ...grpcWindow });
    expect(await get(`/v1/agents/${agent2}/metrics?${window}`)).toEqual(
      metricsAsRest(agent.metrics),
    );
    expect(Number(agent.metrics?.requestsTotal)).toBe(2);

    const missing = await grpcError(
      fleet.operator.getAgentMetrics({ agentId: "ag-nope", ...grpcWindow }),
    );
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toBe(
      restError(await send("GET", `/v1/agents/ag-nope/metrics?${window}`)).message,
    );
  });
});

/** One refusal alike on both sides: the gRPC code, REST's status and code, the same message. */
function expectSameRefusal(
  what: string,
  grpc: ConnectError,
  viaRest: ReturnType<typeof restError>,
  [code, status, restCode]: [Code, number, string],
): void {
  expect({ what, code: grpc.code }).toEqual({ what, code });
  expect({ what, ...viaRest }).toMatchObject({
    what,
    status,
    code: restCode,
    message: grpc.rawMessage,
  });
}

describe("agent configuration and nginx commands", () => {
  /** An agent of a fresh workspace that never had a session. */
  async function idleAgent(): Promise<string> {
    const ws = await newWorkspace();
    const id = `ag-grpc-cmd-${unique}`;
    await fleet.server.fleet.deps.store.agents.insert({ ...newAgent(id), workspaceId: ws });
    return id;
  }

  test("the configuration status reads the same on both sides, before and after deliveries", async () => {
    const id = await idleAgent();
    const both = async () => {
      const { status } = await fleet.operator.getAgentConfig({ agentId: id });
      const viaGrpc = agentConfigAsRest(status);
      expect(await get(`/v1/agents/${id}/config`)).toEqual(viaGrpc);
      return viaGrpc;
    };
    // Never had a session: pending, nothing else known (REST's nulls are unset fields).
    const pending = await both();
    expect(pending).toMatchObject({ agent_id: id, state: "pending", updated_at: null });
    expect(Object.values(pending).filter((value) => value !== null)).toEqual([
      id,
      0,
      0,
      "pending",
      [],
      [],
      [],
      [],
    ]);

    const store = fleet.server.fleet.deps.store;
    const [first, second] = [`sha256:${"a".repeat(64)}`, `sha256:${"b".repeat(64)}`];
    const at = (second: number) => new Date(Date.UTC(2026, 2, 2, 10, 0, second));
    const hosts = [
      { id: "vh-1", status: "applied" as const },
      {
        id: "vh-2",
        status: "set_aside" as const,
        reason: "upstream.lan does not resolve on the agent",
        field: "locations.0.upstream_id",
      },
    ];
    await store.configStatus.setDesired(id, { version: first, hosts: [], at: at(0) });
    expect(await both()).toMatchObject({
      state: "pending",
      desired_version: 1,
      desired_config_hash: first,
    });
    const steps = [{ name: "stage", ok: true, durationMs: 2 }];
    await store.configStatus.report(id, {
      version: first,
      state: "success",
      errors: [],
      steps,
      durationMs: 40,
      at: at(1),
    });
    await store.configStatus.setDesired(id, { version: second, hosts, at: at(2) });
    await store.configStatus.report(id, {
      version: second,
      state: "rolled_back",
      errors: ['nginx: [emerg] unknown directive "bogus"'],
      steps: [...steps, { name: "validate", ok: false, durationMs: 30, detail: "nginx -t" }],
      durationMs: 75,
      at: at(3),
    });
    expect(await both()).toMatchObject({
      desired_version: 2,
      desired_config_hash: second,
      config_id: second,
      version: 2,
      state: "rolled_back",
      applied_version: 1,
      applied_config_hash: first,
      applied_at: at(1).toISOString(),
      duration_ms: 75,
      errors: ['nginx: [emerg] unknown directive "bogus"'],
      steps: [
        { name: "stage", ok: true, duration_ms: 2 },
        { name: "validate", ok: false, duration_ms: 30, detail: "nginx -t" },
      ],
      virtual_hosts: hosts,
    });
  });

  test("an unknown agent is not found on both sides, with the same message", async () => {
    const cases: [() => Promise<unknown>, string, string, unknown][] = [
      [() => fleet.operator.getAgentConfig({ agentId: "ag-nope" }), "GET", "config", undefined],
      [
        () => fleet.operator.sendAgentCommand({ agentId: "ag-nope", kind: CommandKind.RELOAD }),
        "POST",
        "reload",
        undefined,
      ],
      [
        () =>
          fleet.operator.sendAgentCommand({
            agentId: "ag-nope",
            kind: CommandKind.VALIDATE_CONFIG,
            configText: "events {}",
          }),
        "POST",
        "validate",
        { config_text: "events {}" },
      ],
    ];
    for (const [viaGrpc, method, action, body] of cases) {
      const grpc = await grpcError(viaGrpc());
      const viaRest = restError(await send(method, `/v1/agents/ag-nope/${action}`, body));
      expectSameRefusal(action, grpc, viaRest, [Code.NotFound, 404, "NOT_FOUND"]);
      expect(grpc.rawMessage).toBe("agent ag-nope not found");
    }
  });

  test("every command to an agent that is not connected is unavailable on both sides", async () => {
    const id = await idleAgent();
    const cases: [CommandKind, string, Json | undefined][] = [
      [CommandKind.RELOAD, "reload", undefined],
      [CommandKind.RESTART, "restart", { timeout_seconds: 5 }],
      [CommandKind.STOP, "stop", undefined],
      [CommandKind.GET_STATUS, "status", undefined],
      [CommandKind.VALIDATE_CONFIG, "validate", { config_text: "events {}" }],
    ];
    for (const [kind, action, body] of cases) {
      const grpc = await grpcError(
        fleet.operator.sendAgentCommand({
          agentId: id,
          kind,
          configText: (body?.config_text as string | undefined) ?? "",
          timeoutSeconds: (body?.timeout_seconds as number | undefined) ?? 0,
        }),
      );
      const viaRest = restError(await send("POST", `/v1/agents/${id}/${action}`, body));
      expectSameRefusal(action, grpc, viaRest, [Code.Unavailable, 503, "SERVICE_UNAVAILABLE"]);
      expect(grpc.rawMessage).toContain(`agent ${id} is not connected`);
    }
  });

  test("malformed requests are refused with invalid_argument naming the field", async () => {
    const id = await idleAgent();
    const command = (init: { kind?: CommandKind; configText?: string; timeoutSeconds?: number }) =>
      fleet.operator.sendAgentCommand({ agentId: id, ...init });
    const overMiB = "é".repeat(512 * 1024 + 1); // 1 MiB + 2 bytes of UTF-8, half as many characters
    const grpcOnly: [() => Promise<unknown>, string][] = [
      [() => command({}), "kind: must be RELOAD, RESTART, STOP, GET_STATUS or VALIDATE_CONFIG"],
      [
        () => command({ kind: 99 as CommandKind }),
        "kind: must be RELOAD, RESTART, STOP, GET_STATUS or VALIDATE_CONFIG",
      ],
      [
        () => fleet.operator.sendAgentCommand({ agentId: "", kind: CommandKind.RELOAD }),
        "agent_id: is required",
      ],
      [() => fleet.operator.getAgentConfig({ agentId: "" }), "agent_id: is required"],
      [() => command({ kind: CommandKind.VALIDATE_CONFIG }), "config_text: is required"],
      [
        () => command({ kind: CommandKind.RELOAD, configText: "events {}" }),
        "config_text: only with validate_config",
      ],
      [
        () => command({ kind: CommandKind.STOP, timeoutSeconds: 3601 }),
        "timeout_seconds: must be an integer from 1 to 3600",
      ],
      [
        () =>
          command({
            kind: CommandKind.VALIDATE_CONFIG,
            configText: "events {}",
            timeoutSeconds: 5,
          }),
        "timeout_seconds: does not apply to validate_config",
      ],
    ];
    for (const [viaGrpc, message] of grpcOnly) {
      const grpc = await grpcError(viaGrpc());
      expect({ code: grpc.code, message: grpc.rawMessage }).toEqual({
        code: Code.InvalidArgument,
        message,
      });
    }

    // The service layer's checks: the identical message on both sides.
    for (const [configText, message] of [
      ["", "config_text: is required"],
      [overMiB, "config_text: must be at most 1 MiB"],
    ] as const) {
      const grpc = await grpcError(command({ kind: CommandKind.VALIDATE_CONFIG, configText }));
      const viaRest = restError(
        await send("POST", `/v1/agents/${id}/validate`, { config_text: configText }),
      );
      expectSameRefusal(message, grpc, viaRest, [Code.InvalidArgument, 422, "VALIDATION_ERROR"]);
      expect(grpc.rawMessage).toBe(message);
    }

    // REST's schemas answer first, naming the same fields.
    for (const [action, body, field] of [
      ["validate", {}, "config_text"],
      ["validate", { config_text: "events {}", timeout_seconds: 5 }, "timeout_seconds"],
      ["stop", { timeout_seconds: 3601 }, "timeout_seconds"],
    ] as const) {
      const viaRest = restError(await send("POST", `/v1/agents/${id}/${action}`, body));
      expect(viaRest).toMatchObject({ status: 422, code: "VALIDATION_ERROR" });
      expect(viaRest.fields).toContain(field);
    }
  });
});
