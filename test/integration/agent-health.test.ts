import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createAgent } from "../../lib/agent/index.ts";
import type { FleetEvent } from "../../lib/events/index.ts";
import {
  AgentService,
  type ReportHealthRequest,
  ReportHealthRequestSchema,
} from "../../lib/gen/drover/v1/agent_pb.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { AgentState } from "../../lib/gen/drover/v1/operator_pb.ts";
import { HealthReportSchema } from "../../lib/gen/drover/v1/session_pb.ts";
import {
  certificateInfo,
  createCertificateRequest,
  exportPrivateKeyPem,
  generateKeyPair,
} from "../../lib/pki/index.ts";
import { grpcTransport } from "../../lib/transport/index.ts";
import { type InProcessFleet, manualClock, startInProcessFleet } from "../support/in-process.ts";
import { waitFor } from "../support/loopback.ts";

async function register(fleet: InProcessFleet) {
  const { token } = await fleet.operator.createJoinToken({ role: Role.AGENT });
  const keys = await generateKeyPair();
  const response = await fleet.registration.register({
    token,
    role: Role.AGENT,
    csr: await createCertificateRequest(keys),
    hostname: "bench-1",
  });
  const tls = {
    caPem: response.caBundlePem,
    certificatePem: response.certificate?.certificatePem ?? "",
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
  };
  return {
    id: response.id,
    client: createClient(AgentService, grpcTransport(fleet.server.endpoints.agent, tls)),
  };
}

function report(checks: Array<{ name: string; ok: boolean; message: string }>, cpuPercent = 12.5) {
  return create(ReportHealthRequestSchema, {
    report: create(HealthReportSchema, {
      cpuPercent,
      memoryUsedBytes: 1n << 30n,
      memoryTotalBytes: 4n << 30n,
      uptimeSeconds: 100,
      version: "0.1.0",
      checks,
    }),
  });
}

async function* once(message: ReportHealthRequest): AsyncIterable<ReportHealthRequest> {
  yield message;
}

/** A ReportHealth stream the test feeds one report at a time. */
function openStream(client: Awaited<ReturnType<typeof register>>["client"]) {
  const queue: Array<ReportHealthRequest | undefined> = [];
  let wake: (() => void) | undefined;
  async function* messages(): AsyncIterable<ReportHealthRequest> {
    while (true) {
      while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const next = queue.shift();
      if (next === undefined) return;
      yield next;
    }
  }
  const done = client
    .reportHealth(messages())
    .catch((reason: unknown) => ConnectError.from(reason));
  const push = (message: ReportHealthRequest | undefined) => {
    queue.push(message);
    wake?.();
  };
  return {
    send: push,
    close: () => {
      push(undefined);
      return done;
    },
  };
}

describe("agent runtime against a real server", () => {
  let fleet: InProcessFleet;
  beforeAll(async () => {
    // 33 s certificates: renewal is due at two thirds of notBefore(-60 s)…notAfter, about 2 s in.
    fleet = await startInProcessFleet({ heartbeatIntervalMs: 300, certificateLifetimeMs: 33_000 });
  });
  afterAll(() => fleet.stop());

  test("joins, reports real health figures, and renews its certificate at two thirds of its lifetime", async () => {
    const { token } = await fleet.operator.createJoinToken({
      role: Role.AGENT,
      labels: { site: "garage" },
    });
    const dataDir = join(fleet.dir, "agent");
    const agent = createAgent({
      dataDir,
      server: fleet.server.endpoints.registration,
      token,
      hostname: "pi-7",
    });
    const controller = new AbortController();
    const running = agent.run(controller.signal);
    const online = await waitFor("agent online with health", async () => {
      const id = agent.identity()?.id;
      if (!id) return undefined;
      const { agent: seen } = await fleet.operator.getAgent({ id });
      return seen?.state === AgentState.ONLINE && seen.lastHealth ? seen : undefined;
    });
    const health = online.lastHealth;
    expect(health?.memoryTotalBytes).toBeGreaterThan(0n);
    expect(health?.diskTotalBytes).toBeGreaterThan(0n);
    expect(health?.uptimeSeconds).toBeGreaterThan(0);
    expect(health?.checks.map((check) => check.name).sort()).toEqual(["disk", "memory"]);
    expect(online.labels).toEqual({ site: "garage" });

    const firstSerial = certificateInfo(agent.identity()?.certificatePem ?? "").serial;
    const renewed = await waitFor("certificate renewal", async () => {
      const pem = readFileSync(join(dataDir, "agent.pem"), "utf8");
      return certificateInfo(pem).serial !== firstSerial ? pem : undefined;
    });
    expect(certificateInfo(renewed).serial).toBe(
      certificateInfo(agent.identity()?.certificatePem ?? "").serial,
    );
    expect(
      await fleet.server.fleet.deps.store.certificates.get(certificateInfo(renewed).serial),
    ).not.toBeNull();
    controller.abort();
    await running;
  });
});

describe("health intake", () => {
  const clock = manualClock();
  let fleet: InProcessFleet;
  const events: FleetEvent[] = [];
  beforeAll(async () => {
    fleet = await startInProcessFleet({ clock, heartbeatIntervalMs: 1000 });
    fleet.server.fleet.deps.events.subscribe((event) => events.push(event));
  });
  afterAll(() => fleet.stop());

  test("a failing check makes the agent degraded, a passing one online again", async () => {
    const { id, client } = await register(fleet);
    const stream = openStream(client);
    const state = async () => (await fleet.operator.getAgent({ id })).agent?.state;
    stream.send(report([{ name: "disk", ok: false, message: "97% used" }]));
    await waitFor("degraded", async () =>
      (await state()) === AgentState.DEGRADED ? true : undefined,
    );
    stream.send(report([{ name: "disk", ok: true, message: "40% used" }]));
    await waitFor("online", async () => ((await state()) === AgentState.ONLINE ? true : undefined));
    await stream.close();
    expect(await state()).toBe(AgentState.OFFLINE);
    const types = events.filter((event) => event.subjectId === id).map((event) => event.type);
    expect(types).toEqual([
      "agent.registered",
      "agent.connected",
      "agent.updated",
      "agent.updated",
      "agent.disconnected",
    ]);
  });

  test("an impossible report is refused and nothing is stored", async () => {
    const { id, client } = await register(fleet);
    await client.reportHealth(once(report([], 10)));
    for (const bad of [
      report([], -1),
      report([], Number.NaN),
      report([{ name: "", ok: true, message: "" }]),
    ]) {
      const error = await client.reportHealth(once(bad)).then(
        () => undefined,
        (reason: unknown) => ConnectError.from(reason),
      );
      expect(error?.code).toBe(Code.InvalidArgument);
    }
    expect((await fleet.operator.getAgent({ id })).agent?.lastHealth?.cpuPercent).toBe(10);
  });

  test("three missed heartbeats make a connected agent offline", async () => {
    const { id, client } = await register(fleet);
    const stop = new AbortController();
    async function* slow(): AsyncIterable<ReportHealthRequest> {
      yield report([]);
      await new Promise((resolve) => stop.signal.addEventListener("abort", resolve));
    }
    const stream = client.reportHealth(slow(), { signal: stop.signal }).catch(() => undefined);
    await waitFor("online", async () =>
      (await fleet.operator.getAgent({ id })).agent?.state === AgentState.ONLINE ? true : undefined,
    );
    await fleet.server.fleet.markSilentAgentsOffline();
    expect((await fleet.operator.getAgent({ id })).agent?.state).toBe(AgentState.ONLINE);
    clock.advance(3001);
    await fleet.server.fleet.markSilentAgentsOffline();
    expect((await fleet.operator.getAgent({ id })).agent?.state).toBe(AgentState.OFFLINE);
    const reasons = events.filter(
      (event) => event.subjectId === id && event.type === "agent.disconnected",
    );
    expect(reasons.map((event) => (event.data as { reason: string }).reason)).toEqual([
      "connection_timeout",
    ]);
    stop.abort();
    await stream;
  });
});
