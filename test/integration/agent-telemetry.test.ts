// Issue 10: agents push their own metrics, logs, events and alerts (NxMesh MetricsBatch, LogBatch, Event, HealthReport.alerts).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  AgentService,
  type ReportHealthRequest,
  ReportHealthRequestSchema,
} from "../../lib/gen/drover/v1/agent_pb.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import {
  HealthReportSchema,
  MetricType,
  NginxMode,
  type SessionRequest,
  SessionRequestSchema,
} from "../../lib/gen/drover/v1/session_pb.ts";
import {
  createCertificateRequest,
  exportPrivateKeyPem,
  generateKeyPair,
} from "../../lib/pki/index.ts";
import { createChannel } from "../../lib/tasks/index.ts";
import { grpcTransport } from "../../lib/transport/index.ts";
import { type AdminRest, adminRest } from "../support/admin-rest.ts";
import {
  type InProcessAgent,
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "../support/in-process.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(60_000);

type Json = Record<string, unknown>;

let fleet: InProcessFleet;
let admin: AdminRest;
let agent: InProcessAgent;

beforeAll(async () => {
  fleet = await startInProcessFleet({ heartbeatIntervalMs: 300, rateLimitPerMinute: 1_000_000 });
  admin = await adminRest(fleet, { organization: "telemetry", workspace: "prod" });
  const { token } = await admin.ok(
    admin.rest("POST", `/v1/workspaces/${admin.workspaceId}/agents/tokens`, { name: "pi-1" }),
    201,
  );
  agent = await startInProcessAgent(fleet, {
    dataDir: join(fleet.dir, "agent"),
    token: token as string,
    hostname: "pi-1",
  });
});
afterAll(async () => {
  await agent?.stop();
  await fleet.stop();
});

const get = (path: string) => admin.ok(admin.rest("GET", path));

/** Replays the stored events of these types from the start, until `enough` of them. */
async function storedEvents(types: string[], enough: number): Promise<Json[]> {
  const controller = new AbortController();
  const seen: Json[] = [];
  for await (const event of fleet.operator.watchEvents(
    { types, afterSeq: 0n },
    { signal: controller.signal, timeoutMs: 20_000 },
  )) {
    seen.push({ type: event.type, ...(event.data as Json) });
    if (seen.length >= enough) break;
  }
  controller.abort();
  return seen;
}

/** An agent of the workspace speaking raw gRPC, so the test can send what Drover's agent never would. */
async function rawAgent() {
  const { token } = await fleet.operator.createJoinToken({
    role: Role.AGENT,
    workspaceId: admin.workspaceId,
  });
  const keys = await generateKeyPair();
  const response = await fleet.registration.register({
    token,
    role: Role.AGENT,
    csr: await createCertificateRequest(keys),
    hostname: "raw-1",
  });
  const client = createClient(
    AgentService,
    grpcTransport(fleet.server.endpoints.agent, {
      caPem: response.caBundlePem,
      certificatePem: response.certificate?.certificatePem ?? "",
      privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    }),
  );
  return { id: response.id, client };
}

describe("an agent's own telemetry", () => {
  test("a metric, a log entry and an event it pushes are stored and read back over REST and gRPC alike", async () => {
    agent.agent.telemetry.metric("app_queue_depth", 7, { labels: { queue: "jobs" } });
    agent.agent.telemetry.log("warn", "disk is slow", { device: "sda" });
    agent.agent.telemetry.event("backup.finished", { size_mb: "12" }, "evt-1");

    const metrics = await waitFor("the pushed metric", async () => {
      const page = await get(`/v1/agents/${agent.id}/reported-metrics?name=app_queue_depth`);
      const data = page.data as Json[];
      return data.length > 0 ? data : undefined;
    });
    expect(metrics[0]).toMatchObject({
      name: "app_queue_depth",
      value: 7,
      type: "gauge",
      labels: { queue: "jobs" },
    });
    // The agent's own figures, each heartbeat.
    const own = await waitFor("the agent's own gauges", async () => {
      const page = await get(`/v1/agents/${agent.id}/reported-metrics?limit=1000`);
      const names = new Set((page.data as Json[]).map((row) => row.name));
      return names.has("drover_agent_resident_memory_bytes") ? page : undefined;
    });
    const memory = (own.data as Json[]).find(
      (row) => row.name === "drover_agent_resident_memory_bytes",
    );
    expect(memory?.value).toBeGreaterThan(0);

    const warnings = await get(`/v1/agents/${agent.id}/logs?level=warn`);
    expect(warnings.data as Json[]).toContainEqual(
      expect.objectContaining({
        level: "warn",
        message: "disk is slow",
        fields: { device: "sda" },
      }),
    );
    const errors = await get(`/v1/agents/${agent.id}/logs?level=error`);
    expect((errors.data as Json[]).map((row) => row.message)).not.toContain("disk is slow");

    // gRPC answers the same rows.
    const grpcMetrics = await fleet.operator.listAgentReportedMetrics({
      agentId: agent.id,
      name: "app_queue_depth",
    });
    const grpcRows: Json[] = grpcMetrics.metrics.map((m) => ({
      name: m.name,
      value: m.value,
      type: m.type,
      labels: m.labels,
      timestamp: m.timestamp && timestampDate(m.timestamp).toISOString(),
    }));
    expect(grpcRows).toEqual(metrics.map((m) => ({ ...m, type: MetricType.GAUGE })));
    const grpcLogs = await fleet.operator.listAgentLogs({ agentId: agent.id, level: "warn" });
    const grpcMessages: unknown[] = grpcLogs.entries.map((entry) => entry.message);
    expect(grpcMessages).toEqual((warnings.data as Json[]).map((row) => row.message));

    // The event is on the event stream, typed and scoped to the workspace.
    const [event] = await storedEvents(["agent.event"], 1);
    expect(event).toEqual({
      type: "agent.event",
      agent_id: agent.id,
      workspace_id: admin.workspaceId,
      event_id: "evt-1",
      event_type: "backup.finished",
      data: { size_mb: "12" },
    });
  });

  test("bad queries are refused with the field named", async () => {
    const refused = await admin.rest("GET", `/v1/agents/${agent.id}/logs?level=fatal`);
    expect(refused.status).toBe(422);
    expect(JSON.stringify((refused.body as Json).error)).toContain('"field":"level"');
    const tooMany = await admin.rest("GET", `/v1/agents/${agent.id}/reported-metrics?limit=1001`);
    expect(tooMany.status).toBe(422);
    expect((await admin.rest("GET", "/v1/agents/agent_nope/logs")).status).toBe(404);
    const grpc = await fleet.operator
      .listAgentLogs({ agentId: agent.id, level: "loud" })
      .catch((reason: unknown) => ConnectError.from(reason));
    expect(grpc instanceof ConnectError && grpc.code).toBe(Code.InvalidArgument);
  });

  test("an oversized or invalid batch stores nothing and the session stays up", async () => {
    const raw = await rawAgent();
    const outgoing = createChannel<SessionRequest>();
    const controller = new AbortController();
    const responses = raw.client.session(outgoing, { signal: controller.signal });
    const ended = (async () => {
      for await (const _ of responses) {
        // Deliveries: not this test's subject.
      }
    })().catch((reason: unknown) => ConnectError.from(reason));
    outgoing.push(
      create(SessionRequestSchema, {
        payload: { case: "hello", value: { fileRoot: "/tmp/raw-agent", nginxMode: NginxMode.OFF } },
      }),
    );
    await waitFor("the raw session", () => fleet.server.delivery.connected(raw.id));
    const metric = (name: string) => ({
      name,
      value: 1,
      type: MetricType.GAUGE,
      timestamp: BigInt(Date.now()),
    });
    const batch = (metrics: ReturnType<typeof metric>[]) =>
      create(SessionRequestSchema, { payload: { case: "metrics", value: { metrics } } });
    // 1,001 metrics, a name outside the grammar, an unknown level: each refused whole.
    outgoing.push(batch(Array.from({ length: 1001 }, (_, i) => metric(`m_${i}`))));
    outgoing.push(batch([metric("ok_before_bad"), metric("bad name!")]));
    outgoing.push(
      create(SessionRequestSchema, {
        payload: {
          case: "logs",
          value: { entries: [{ level: "loud", message: "x", timestamp: BigInt(Date.now()) }] },
        },
      }),
    );
    // Then a good one: stored, so the session outlived the bad ones.
    outgoing.push(batch([metric("after_bad")]));
    const stored = await waitFor("the good batch", async () => {
      const page = await get(`/v1/agents/${raw.id}/reported-metrics?limit=1000`);
      const data = page.data as Json[];
      return data.length > 0 ? data : undefined;
    });
    expect(stored.map((row) => row.name)).toEqual(["after_bad"]);
    expect((await get(`/v1/agents/${raw.id}/logs`)).data).toEqual([]);
    expect(fleet.server.delivery.connected(raw.id)).toBe(true);
    outgoing.close();
    controller.abort();
    await ended;
  });

  test("an agent's alert is health.alert with source agent, then health.alert_resolved with the same alert_id", async () => {
    const raw = await rawAgent();
    const queue = createChannel<ReportHealthRequest>();
    const done = raw.client
      .reportHealth(queue)
      .catch((reason: unknown) => ConnectError.from(reason));
    const report = (alerts: Array<{ id: string; severity: string; message: string }>) =>
      create(ReportHealthRequestSchema, {
        report: create(HealthReportSchema, {
          memoryTotalBytes: 4n << 30n,
          version: "0.1.0",
          alerts: alerts.map((alert) => ({ ...alert, timestamp: BigInt(Date.now()) })),
        }),
      });
    const smart = { id: "smart:sda", severity: "error", message: "SMART reallocated sectors" };
    queue.push(report([smart]));
    queue.push(report([smart]));
    queue.push(report([]));
    const events = await waitFor("raise and resolution", async () => {
      const all = await fleet.server.fleet.deps.store.events.listSince(0, 1000);
      const mine = all.filter(
        (event) => event.type.startsWith("health.") && event.subjectId === raw.id,
      );
      return mine.length >= 2 ? mine : undefined;
    });
    expect(events.map((event) => event.type)).toEqual(["health.alert", "health.alert_resolved"]);
    const [first, second] = events.map((event) => event.data as Json);
    expect(first).toMatchObject({
      agent_id: raw.id,
      workspace_id: admin.workspaceId,
      severity: "error",
      message: "SMART reallocated sectors",
      metric: "smart:sda",
      source: "agent",
      state: "firing",
    });
    expect(second).toMatchObject({ alert_id: first?.alert_id, source: "agent", severity: "error" });

    // A severity outside the seed's four is refused, naming the field.
    queue.push(report([{ id: "x", severity: "panic", message: "?" }]));
    const refused = await done;
    expect(refused instanceof ConnectError && refused.code).toBe(Code.InvalidArgument);
    expect(refused instanceof ConnectError && refused.rawMessage).toContain("severity");
  });
});
