// Issue 10, NxMesh fidelity: every request example of the seed, replayed (ids substituted) against a running server; each answer has the seed's fields with the seed's types.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { AgentHealth } from "../../lib/fleet/index.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { createCertificateRequest, generateKeyPair } from "../../lib/pki/index.ts";
import { connectEventSocket, type EventSocketClient } from "../support/event-socket-client.ts";
import { healthReport } from "../support/health-report.ts";
import { httpsClient } from "../support/https-client.ts";
import {
  type InProcessAgent,
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "../support/in-process.ts";
import { freePort, waitFor } from "../support/loopback.ts";
import { nxmeshExamples as seed } from "./nxmesh-examples.ts";
import {
  basePath,
  example,
  expectError,
  expectShape,
  itemOf,
  responseOf,
  seedReplay,
  substituted,
} from "./seed-replay.ts";
import type { ShapeRules } from "./seed-shape.ts";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;

/** Ids the seed's examples use for resources they reference, swapped for the ones this server gave. */
const seedIds = {
  certificate: "990e8400-e29b-41d4-a716-446655440005",
  upstream: "aa0e8400-e29b-41d4-a716-446655440006",
  /** The seed's PATCH of a virtual host names a second upstream it never creates. */
  otherUpstream: "aa0e8400-e29b-41d4-a716-446655440007",
  workspace: "660e8400-e29b-41d4-a716-446655440001",
};

const lower = (values: readonly string[] = []) => values.map((value) => value.toLowerCase());
const agentStates =
  example("GET /workspaces/{workspace_id}/agents")
    .queryParameters?.find((parameter) => parameter.name === "state")
    ?.quoted.filter((state) => state !== "all") ?? [];
const agentRules = (at: string): ShapeRules => ({
  enums: {
    [`${at}state`]: agentStates,
    [`${at}deployment_mode`]: lower(seed.protoEnums.DeploymentMode),
  },
  maps: [`${at}labels`],
});
const upstreamRules = (at: string): ShapeRules => ({
  enums: { [`${at}algorithm`]: lower(seed.protoEnums.LoadBalanceAlgorithm) },
});

let fleet: InProcessFleet;
let call: ReturnType<typeof httpsClient>;
let accessToken = "";
let refreshToken = "";
const { ids, replayed, checkedEvents, replay, expectList, expectDeleted, expectEvent } = seedReplay(
  (...request) => call(...request),
  () => accessToken,
);
let agent: InProcessAgent | undefined;
/** Subscribed exactly as the seed's subscribe message says. */
let seedSocket: EventSocketClient;
/** Never sends a message: hears every event the admin may see. */
let plainSocket: EventSocketClient;

const about = (type: string, agentId: string) => (message: Json) =>
  message.type === type && (message.data as Json | undefined)?.agent_id === agentId;

beforeAll(async () => {
  fleet = await startInProcessFleet({ heartbeatIntervalMs: 500 });
  call = httpsClient(`https://${fleet.server.endpoints.http}`, {
    caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
  });
});

afterAll(async () => {
  seedSocket?.ws.close();
  plainSocket?.ws.close();
  await agent?.stop();
  await fleet?.stop();
});

describe("authentication", () => {
  test("POST /auth/login: the seed's body with the first admin's email and password", async () => {
    expect(basePath).toBe("/v1");
    const admin = fleet.server.firstAdmin;
    if (!admin) throw new Error("a fresh server creates its first admin");
    const login = substituted(example("POST /auth/login").body, {}, admin);
    const body = expectShape(
      await replay("POST /auth/login", login),
      200,
      responseOf("POST /auth/login"),
    );
    accessToken = body.access_token as string;
    refreshToken = body.refresh_token as string;
  });

  test("POST /auth/refresh: the seed's body with the refresh token just issued; answers as login does", async () => {
    const refresh = substituted(
      example("POST /auth/refresh").body,
      {},
      { refresh_token: refreshToken },
    );
    const body = expectShape(
      await replay("POST /auth/refresh", refresh),
      200,
      responseOf("POST /auth/login"),
    );
    accessToken = body.access_token as string;
  });

  test("no token: 401 UNAUTHORIZED in the seed's error format", async () => {
    const { path, query } = example("GET /organizations");
    expectError(await call("GET", `${basePath}${path}?${query}`), "UNAUTHORIZED");
  });
});

describe("organizations and workspaces", () => {
  const organization = itemOf("GET /organizations");
  const workspace = itemOf("GET /organizations/{organization_id}/workspaces");

  test("POST /organizations, then the list, the get and the patch, as the seed writes them", async () => {
    const created = expectShape(await replay("POST /organizations"), 201, organization);
    ids.organization_id = created.id as string;
    const listed = await expectList("GET /organizations");
    expect((listed.data as Json[]).map((o) => o.id)).toContain(created.id);
    expectShape(await replay("GET /organizations/{organization_id}"), 200, organization);
    const patched = expectShape(
      await replay("PATCH /organizations/{organization_id}"),
      200,
      organization,
    );
    expect(patched.name).toBe("Acme Corporation");
  });

  test("the same POST /organizations again: 409 CONFLICT (the seed's duplicate slug)", async () => {
    expectError(await replay("POST /organizations"), "CONFLICT");
  });

  test("POST /organizations/{organization_id}/workspaces, then the list, the get and the patch", async () => {
    const list = "GET /organizations/{organization_id}/workspaces";
    const created = expectShape(
      await replay("POST /organizations/{organization_id}/workspaces"),
      201,
      workspace,
    );
    ids.workspace_id = created.id as string;
    const listed = await expectList(list);
    expect((listed.data as Json[]).map((w) => w.id)).toEqual([created.id]);
    expectShape(await replay("GET /workspaces/{workspace_id}"), 200, workspace);
    const patched = expectShape(await replay("PATCH /workspaces/{workspace_id}"), 200, workspace);
    expect(patched.name).toBe("Staging Environment");
  });
});

describe("events and agents", () => {
  test("WebSocket: the seed's URL with the access token, and the seed's subscribe for this workspace", async () => {
    const url = new URL(seed.websocket.url);
    expect([url.pathname, [...url.searchParams.keys()]]).toEqual([`${basePath}/events`, ["token"]]);
    const { http } = fleet.server.endpoints;
    const caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
    seedSocket = await connectEventSocket(http, caPem, accessToken);
    plainSocket = await connectEventSocket(http, caPem, accessToken);
    seedSocket.send(
      substituted(seed.websocket.subscribe, { [seedIds.workspace]: ids.workspace_id as string }),
    );
    await seedSocket.next((m) => m.type === "subscribed", "the subscription");
  });

  test("POST /workspaces/{workspace_id}/agents/tokens; an agent joins with the token and is agent.connected", async () => {
    const operation = "POST /workspaces/{workspace_id}/agents/tokens";
    const token = expectShape(await replay(operation), 201, responseOf(operation));
    ids.agent_id = token.agent_id as string;
    agent = await startInProcessAgent(fleet, {
      dataDir: join(fleet.dir, "web-01"),
      token: token.token as string,
      hostname: "web-01.internal",
      capabilities: ["http2", "websocket"],
      nginx: { mode: "managed", statusPort: await freePort(), listenAddress: "127.0.0.1" },
    });
    expect(agent.id).toBe(token.agent_id as string);
    expectEvent(
      await seedSocket.next(about("agent.connected", agent.id), "agent.connected"),
      "agent.connected",
    );
  });

  test("GET /workspaces/{workspace_id}/agents with the seed's page, per_page and state=online", async () => {
    const operation = "GET /workspaces/{workspace_id}/agents";
    // Online once its first health report passes its checks (nginx running among them).
    const listed = await waitFor(
      "the agent listed online",
      async () => {
        const body = await expectList(operation, agentRules("data[]."));
        return (body.data as Json[]).length > 0 ? body : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect((listed.data as Json[]).map((a) => a.id)).toEqual([ids.agent_id]);
  });

  test("GET /agents/{agent_id} with the seed's health details, once the agent has reported", async () => {
    const operation = "GET /agents/{agent_id}";
    const answer = await waitFor(
      "a health report with nginx running",
      async () => {
        const got = await replay(operation);
        const health = (got.body as Json).health as Json | null;
        return health?.nginx_status === "running" ? got : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expectShape(answer, 200, responseOf(operation), agentRules(""));
  });

  test("PATCH /agents/{agent_id}: the seed's name and labels", async () => {
    const operation = "PATCH /agents/{agent_id}";
    const patched = expectShape(
      await replay(operation),
      200,
      itemOf("GET /workspaces/{workspace_id}/agents"),
      agentRules(""),
    );
    expect([patched.name, patched.labels]).toEqual([
      "web-server-01-renamed",
      { env: "production", region: "us-east-1", tier: "web" },
    ]);
  });

  test("POST /agents/{agent_id}/reload: the agent's nginx reloads", async () => {
    const operation = "POST /agents/{agent_id}/reload";
    const answer = expectShape(await replay(operation), 200, responseOf(operation));
    expect(answer.success).toBe(true);
  });
});

describe("upstreams, certificates and virtual hosts", () => {
  const upstream = itemOf("GET /workspaces/{workspace_id}/upstreams");
  const certificate = itemOf("GET /workspaces/{workspace_id}/certificates");
  const virtualHost = itemOf("GET /workspaces/{workspace_id}/virtual-hosts");

  test("POST /workspaces/{workspace_id}/upstreams, then the list, the get and the patch", async () => {
    const list = "GET /workspaces/{workspace_id}/upstreams";
    const created = expectShape(
      await replay("POST /workspaces/{workspace_id}/upstreams"),
      201,
      upstream,
      upstreamRules(""),
    );
    ids.upstream_id = created.id as string;
    await expectList(list, upstreamRules("data[]."));
    expectShape(await replay("GET /upstreams/{upstream_id}"), 200, upstream, upstreamRules(""));
    const patched = expectShape(
      await replay("PATCH /upstreams/{upstream_id}"),
      200,
      upstream,
      upstreamRules(""),
    );
    expect((patched.servers as Json[]).map((s) => [s.address, s.weight])).toEqual([
      ["10.0.1.30:8080", 3],
    ]);
  });

  test("POST /workspaces/{workspace_id}/certificates as written (letsencrypt): pending, then deleted", async () => {
    // Pending until issued: the seed shows only an issued certificate, whose dates are set.
    const pending = { nullable: ["issued_at", "expires_at"] };
    const created = expectShape(
      await replay("POST /workspaces/{workspace_id}/certificates"),
      201,
      certificate,
      pending,
    );
    expect([created.provider, created.status]).toEqual(["letsencrypt", "pending"]);
    ids.certificate_id = created.id as string;
    await expectDeleted(
      "DELETE /certificates/{certificate_id}",
      "GET /certificates/{certificate_id}",
    );
  });

  test("POST /workspaces/{workspace_id}/virtual-hosts with this server's certificate and upstream; the agent applies it", async () => {
    // Let's Encrypt cannot reach a test machine: the same request from the sites CA (`internal`).
    const internal = substituted(
      example("POST /workspaces/{workspace_id}/certificates").body,
      {},
      { provider: "internal" },
    );
    const cert = await replay("POST /workspaces/{workspace_id}/certificates", internal);
    ids.certificate_id = expectShape(cert, 201, certificate, {
      nullable: ["issued_at", "expires_at"],
    }).id as string;

    const since = seedSocket.messages.length;
    const create = "POST /workspaces/{workspace_id}/virtual-hosts";
    // The seed's port 443 is swapped for a free one: the agent's nginx listens on this machine.
    const body = substituted(
      example(create).body,
      {
        [seedIds.certificate]: ids.certificate_id,
        [seedIds.upstream]: ids.upstream_id as string,
      },
      { listen_port: await freePort() },
    );
    const created = expectShape(await replay(create, body), 201, virtualHost);
    ids.virtual_host_id = created.id as string;
    const applied = await waitFor(
      "config.applied with success",
      () =>
        seedSocket.messages
          .slice(since)
          .find(
            (m) =>
              about("config.applied", ids.agent_id as string)(m) &&
              (m.data as Json).success === true,
          ),
      { timeoutMs: 15_000 },
    );
    expectEvent(applied, "config.applied");
  });

  test("the virtual host's bad server_name: 422 VALIDATION_ERROR naming the field, in the seed's error format", async () => {
    const create = "POST /workspaces/{workspace_id}/virtual-hosts";
    const body = substituted(
      example(create).body,
      {},
      {
        server_name: "not a domain!",
        ssl_enabled: false,
        ssl_certificate_id: null,
        locations: [{ path: "/health", proxy_pass: "http://localhost:8080/health" }],
      },
    );
    const error = expectError(await replay(create, body), "VALIDATION_ERROR");
    expect((error.details as Json[]).map((d) => d.field)).toContain("server_name");
  });

  test("GET the internal certificate and the list once issued", async () => {
    const list = "GET /workspaces/{workspace_id}/certificates";
    await waitFor(
      "the certificate issued",
      async () => {
        const got = await replay("GET /certificates/{certificate_id}");
        return (got.body as Json).status === "active" ? got : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expectShape(await replay("GET /certificates/{certificate_id}"), 200, certificate);
    await expectList(list);
  });

  test("GET the virtual hosts list and the host, and PATCH it as the seed writes (its second upstream is this server's one)", async () => {
    const list = "GET /workspaces/{workspace_id}/virtual-hosts";
    await expectList(list);
    expectShape(await replay("GET /virtual-hosts/{virtual_host_id}"), 200, virtualHost);
    const patch = "PATCH /virtual-hosts/{virtual_host_id}";
    const body = substituted(example(patch).body, {
      [seedIds.otherUpstream]: ids.upstream_id as string,
    });
    const patched = expectShape(await replay(patch, body), 200, virtualHost);
    expect(patched.name).toBe("API Gateway v2");
  });
});

describe("metrics, access logs and alerts", () => {
  test("GET /workspaces/{workspace_id}/metrics and GET /agents/{agent_id}/metrics with the seed's window", async () => {
    const workspaceMetrics = responseOf("GET /workspaces/{workspace_id}/metrics");
    expectShape(await replay("GET /workspaces/{workspace_id}/metrics"), 200, workspaceMetrics);
    // The seed shows no agent metrics: they are the workspace's, for one agent.
    expectShape(await replay("GET /agents/{agent_id}/metrics"), 200, workspaceMetrics);
  });

  test("GET /workspaces/{workspace_id}/access-logs with the seed's query finds the seed's log line", async () => {
    const operation = "GET /workspaces/{workspace_id}/access-logs";
    const [line] = (responseOf(operation) as { data: Json[] }).data;
    if (!line) throw new Error("the seed shows no access log line");
    // As the agent would have shipped it: the seed's own line, from this workspace's agent, at
    // the middle of the seed's query window (the seed's line falls after its own window).
    const window = new URLSearchParams(example(operation).query);
    const middle = (Date.parse(window.get("from") ?? "") + Date.parse(window.get("to") ?? "")) / 2;
    await fleet.server.fleet.deps.store.accessLogs.insertMany([
      {
        id: line.id as string,
        agentId: ids.agent_id as string,
        workspaceId: ids.workspace_id as string,
        timestamp: new Date(middle),
        remoteAddr: line.remote_addr as string,
        method: line.method as string,
        uri: line.uri as string,
        protocol: line.protocol as string,
        host: line.host as string,
        status: line.status as number,
        bodyBytesSent: line.body_bytes_sent as number,
        responseTimeMs: line.response_time_ms as number,
        userAgent: line.user_agent as string,
        referer: line.referer as string,
        requestId: line.request_id as string,
      },
    ]);
    const page = await expectList(operation);
    expect((page.data as Json[]).map((l) => l.id)).toEqual([line.id]);
  });

  test("health.alert: an agent over the CPU threshold; the seed's subscription (agent.*, config.*) does not hear it", async () => {
    const token = await replay("POST /workspaces/{workspace_id}/agents/tokens", {});
    const { id } = await fleet.registration.register({
      token: (token.body as Json).token as string,
      role: Role.AGENT,
      csr: await createCertificateRequest(await generateKeyPair()),
      hostname: "web-02.internal",
    });
    const stream = await fleet.server.fleet.openHealthStream(id);
    await stream.record(cpuAt(95));
    await stream.close();
    const severities = seed.protoFieldValues["Alert.severity"] ?? [];
    expectEvent(await plainSocket.next(about("health.alert", id), "health.alert"), "health.alert", {
      enums: { "data.severity": severities },
    });
    expect(seedSocket.messages.filter((m) => String(m.type).startsWith("health."))).toEqual([]);
  });
});

describe("deletes", () => {
  test("DELETE every resource the seed deletes; the agent deleted while connected is agent.disconnected", async () => {
    await expectDeleted(
      "DELETE /virtual-hosts/{virtual_host_id}",
      "GET /virtual-hosts/{virtual_host_id}",
    );
    await expectDeleted("DELETE /upstreams/{upstream_id}", "GET /upstreams/{upstream_id}");
    await expectDeleted(
      "DELETE /certificates/{certificate_id}",
      "GET /certificates/{certificate_id}",
    );
    await expectDeleted("DELETE /agents/{agent_id}", "GET /agents/{agent_id}");
    const agentId = ids.agent_id as string;
    expectEvent(
      await seedSocket.next(about("agent.disconnected", agentId), "agent.disconnected"),
      "agent.disconnected",
    );
    await expectDeleted("DELETE /workspaces/{workspace_id}", "GET /workspaces/{workspace_id}");
    await expectDeleted(
      "DELETE /organizations/{organization_id}",
      "GET /organizations/{organization_id}",
    );
  });

  test("every REST example and every event type of the seed was replayed and checked", () => {
    const operations = seed.rest.map((e) => e.operation);
    expect(operations).toHaveLength(35);
    expect(operations.filter((operation) => !replayed.has(operation))).toEqual([]);
    const types = seed.websocket.events.map((event) => event.message.type as string);
    expect(types.filter((type) => !checkedEvents.has(type))).toEqual([]);
  });
});

/** A health report with CPU at `cpuPercent` and nothing else of note. */
function cpuAt(cpuPercent: number): AgentHealth {
  return healthReport(fleet.server.fleet.deps.clock.now(), cpuPercent);
}
