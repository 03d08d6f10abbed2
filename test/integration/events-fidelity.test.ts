// Issue 10, NxMesh fidelity: agent.disconnected reasons, health.alert ids and severities, sockets that never subscribe.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { FleetEvent } from "../../lib/events/index.ts";
import type { AgentHealth } from "../../lib/fleet/index.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { createCertificateRequest, generateKeyPair } from "../../lib/pki/index.ts";
import { serverPaths } from "../../lib/server/index.ts";
import { openStore } from "../../lib/store/index.ts";
import { type AdminRest, adminRest } from "../support/admin-rest.ts";
import { connectEventSocket, type EventSocketClient } from "../support/event-socket-client.ts";
import { healthReport } from "../support/health-report.ts";
import {
  type InProcessFleet,
  manualClock,
  startInProcessAgent,
  startInProcessFleet,
} from "../support/in-process.ts";
import { sleep, waitFor } from "../support/loopback.ts";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;
const clock = manualClock();
let fleet: InProcessFleet;
let admin: AdminRest;
/** Never sends a message: it hears what the seed's clients hear. */
let socket: EventSocketClient;

beforeAll(async () => {
  fleet = await startInProcessFleet({ clock });
  admin = await adminRest(fleet, { organization: "fidelity", workspace: "edge" });
  socket = await connectEventSocket(
    fleet.server.endpoints.http,
    fleet.server.fleet.deps.authority.ca.certificatePem,
    admin.accessToken,
  );
});
afterAll(() => fleet.stop());

async function joinToken(): Promise<string> {
  const path = `/v1/workspaces/${admin.workspaceId}/agents/tokens`;
  return (await admin.ok(admin.rest("POST", path, {}), 201)).token as string;
}

/** A running agent of the test's workspace, connected. */
function startAgent(hostname: string) {
  return joinToken().then((token) =>
    startInProcessAgent(fleet, { dataDir: join(fleet.dir, hostname), token, hostname }),
  );
}

/** Registered, but its health comes only from what the test records. */
async function registerAgent(hostname: string): Promise<string> {
  const registered = await fleet.registration.register({
    token: await joinToken(),
    role: Role.AGENT,
    csr: await createCertificateRequest(await generateKeyPair()),
    hostname,
  });
  return registered.id;
}

function report(cpuPercent: number): AgentHealth {
  return healthReport(clock.now(), cpuPercent);
}

const about = (type: string, agentId: string) => (message: Json) =>
  message.type === type && (message.data as Json).agent_id === agentId;

/** The seed's agent.disconnected data, with Drover's extras, exactly. */
function disconnected(agentId: string, hostname: string, reason: string) {
  return {
    agent_id: agentId,
    workspace_id: admin.workspaceId,
    hostname,
    ip_address: expect.any(String),
    reason,
  };
}

/** Every stored agent.disconnected of one agent, in order. */
async function storedDisconnections(agentId: string): Promise<unknown[]> {
  const events: FleetEvent[] = await fleet.server.fleet.deps.store.events.listSince(0, 100_000);
  return events
    .filter((event) => event.type === "agent.disconnected" && event.subjectId === agentId)
    .map((event) => event.data);
}

describe("a WebSocket that never subscribes", () => {
  test("gets agent.connected with the seed's fields; a later subscribe replaces that, from the client's whole budget", async () => {
    const later = await connectEventSocket(
      fleet.server.endpoints.http,
      fleet.server.fleet.deps.authority.ca.certificatePem,
      admin.accessToken,
    );
    const agent = await startAgent("pi-connected");
    for (const client of [socket, later]) {
      const event = await client.next(about("agent.connected", agent.id), "agent.connected");
      expect(event).toEqual({
        seq: expect.any(Number),
        type: "agent.connected",
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        subject_id: agent.id,
        data: {
          agent_id: agent.id,
          workspace_id: admin.workspaceId,
          hostname: "pi-connected",
          ip_address: expect.any(String),
        },
      });
    }
    // The default subscription took none of the burst of 10 control messages.
    for (let i = 0; i < 10; i++) later.send({ action: "subscribe", events: ["organization.*"] });
    await waitFor(
      "ten acks",
      () => later.messages.filter((m) => m.type === "subscribed").length === 10,
      { timeoutMs: 5_000 },
    );
    await agent.stop();
    await socket.next(about("agent.disconnected", agent.id), "agent.disconnected on the default");
    await admin.ok(admin.rest("POST", "/v1/organizations", { name: "after", slug: "after" }), 201);
    await later.next((m) => m.type === "organization.created", "organization.created");
    expect(later.messages.filter((m) => m.type === "error")).toEqual([]);
    expect(later.messages.some(about("agent.disconnected", agent.id))).toBe(false);
    later.ws.close();
  });
});

describe("agent.disconnected says why, from the seed's set of reasons", () => {
  test("stream_closed when the agent stops", async () => {
    const agent = await startAgent("pi-stops");
    await socket.next(about("agent.connected", agent.id), "agent.connected");
    await agent.stop();
    const event = await socket.next(about("agent.disconnected", agent.id), "agent.disconnected");
    expect(event.data).toEqual(disconnected(agent.id, "pi-stops", "stream_closed"));
    expect(await storedDisconnections(agent.id)).toHaveLength(1);
  });

  test("revoked when the agent is deleted, once, before agent.deleted", async () => {
    const agent = await startAgent("pi-deleted");
    await socket.next(about("agent.connected", agent.id), "agent.connected");
    await admin.ok(admin.rest("DELETE", `/v1/agents/${agent.id}`), 204);
    const deleted = await socket.next(about("agent.deleted", agent.id), "agent.deleted");
    const event = await socket.next(about("agent.disconnected", agent.id), "agent.disconnected");
    expect(event.data).toEqual(disconnected(agent.id, "pi-deleted", "revoked"));
    expect(event.seq as number).toBeLessThan(deleted.seq as number);
    // Its streams, cut by the deletion, end without a second disconnection.
    await sleep(300);
    expect(await storedDisconnections(agent.id)).toHaveLength(1);
    await agent.stop();
  });

  test("connection_timeout after three missed heartbeats (injected clock), once; a later report is agent.connected again", async () => {
    const id = await registerAgent("pi-silent");
    const stream = await fleet.server.fleet.openHealthStream(id);
    await stream.record(report(10));
    await fleet.server.fleet.markSilentAgentsOffline();
    expect(await storedDisconnections(id)).toEqual([]);
    clock.advance(3 * fleet.server.fleet.deps.settings.heartbeatIntervalMs + 1);
    await fleet.server.fleet.markSilentAgentsOffline();
    const event = await socket.next(about("agent.disconnected", id), "agent.disconnected");
    expect(event.data).toEqual(disconnected(id, "pi-silent", "connection_timeout"));
    // The stream was only stalled: its next report brings the agent back, and says so.
    await stream.record(report(10));
    const returned = (message: Json) =>
      about("agent.connected", id)(message) && Number(message.seq) > Number(event.seq);
    await socket.next(returned, "agent.connected after the timeout");
    expect((await fleet.server.fleet.getAgent(id)).state).toBe("online");
    await stream.close();
    expect(await storedDisconnections(id)).toHaveLength(2);
  });
});

describe("health.alert", () => {
  test("keeps one alert_id from raise through escalation to its distinct resolution event", async () => {
    const id = await registerAgent("pi-hot");
    const stream = await fleet.server.fleet.openHealthStream(id);
    for (const cpu of [95, 99, 85, 50]) await stream.record(report(cpu));
    await stream.close();
    await socket.next(about("health.alert_resolved", id), "health.alert_resolved");
    const alerts = socket.messages.filter(
      (m) => (m.data as Json | undefined)?.agent_id === id && String(m.type).startsWith("health."),
    );
    const alertId = (alerts[0]?.data as Json | undefined)?.alert_id;
    expect(alertId).toEqual(expect.stringMatching(/^alert-[0-9a-f]{12}$/));
    const seedFields = (severity: string, message: string, value: number) => ({
      agent_id: id,
      workspace_id: admin.workspaceId,
      hostname: "pi-hot",
      ip_address: expect.any(String),
      alert_id: alertId,
      severity,
      message,
      metric: "cpu_percent",
      value,
    });
    expect(alerts.map((m) => [m.type, m.data])).toEqual([
      ["health.alert", { ...seedFields("warning", "High CPU usage: 95%", 95), state: "firing" }],
      ["health.alert", { ...seedFields("critical", "High CPU usage: 99%", 99), state: "firing" }],
      ["health.alert_resolved", seedFields("critical", "CPU usage back to 50%", 50)],
    ]);
  });
});

describe("server_shutdown", () => {
  test("when the server stops, and at start for agents a server that died left connected", async () => {
    const agent = await startAgent("pi-shutdown");
    await socket.next(about("agent.connected", agent.id), "agent.connected");
    const heard: FleetEvent[] = [];
    fleet.server.fleet.deps.events.subscribe((event) => heard.push(event));
    await fleet.restart(async (dataDir) => {
      // As a server that died would leave it: still marked online.
      const store = await openStore({ path: serverPaths(dataDir).database });
      await store.agents.markOnline(agent.id, clock.now());
      await store.close();
    });
    const expected = disconnected(agent.id, "pi-shutdown", "server_shutdown");
    const atStop = heard.filter(
      (event) => event.type === "agent.disconnected" && event.subjectId === agent.id,
    );
    expect(atStop.map((event) => event.data)).toEqual([expected]);
    // The stop's event is stored, then the start-up sweep's: nothing else in between.
    expect(await storedDisconnections(agent.id)).toEqual([expected, expected]);
    await agent.stop();
  });
});
