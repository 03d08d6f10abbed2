// Issue 10, NxMesh fidelity: agent objects (deployment_mode, flat health fields) and integer config versions.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { FleetEvent } from "../../lib/events/index.ts";
import { DeploymentMode } from "../../lib/gen/drover/v1/identity_pb.ts";
import {
  type DeliveryFixture,
  type Json,
  startDeliveryFixture,
} from "../support/delivery-fixture.ts";
import { type InProcessAgent, startInProcessAgent } from "../support/in-process.ts";
import { backend, closeAll, freePort, listen, portOf, waitFor } from "../support/loopback.ts";

// Server and agents in this process; the first agent runs a real nginx.
setDefaultTimeout(60_000);

let fixture: DeliveryFixture;
let rest: DeliveryFixture["rest"];
let ok: DeliveryFixture["ok"];
let agentId: string;
let workspaceId: string;
let events: FleetEvent[];
let sidecar: InProcessAgent | undefined;
let upstreamId: string;

/** The last config.applied about the agent whose `version` is `version`. */
function appliedEvent(version: number): Json | undefined {
  return events.findLast(
    (e) =>
      e.type === "config.applied" &&
      e.subjectId === agentId &&
      (e.data as unknown as Json).version === version,
  )?.data as unknown as Json | undefined;
}

/** Waits for a final state on the desired version and its config.applied event. */
async function settledWithEvent(): Promise<{ status: Json; event: Json }> {
  let event: Json | undefined;
  const status = await fixture.settled((current) => {
    event = appliedEvent(current.version as number);
    return event !== undefined;
  });
  return { status, event: event as Json };
}

async function createHost(name: string, port: number): Promise<string> {
  const host = await ok(
    rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
      name,
      server_name: `${name}.test`,
      listen_port: port,
      locations: [{ path: "/", upstream_id: upstreamId }],
    }),
    201,
  );
  return host.id as string;
}

beforeAll(async () => {
  fixture = await startDeliveryFixture({ name: "nxmesh" });
  ({ rest, ok, agentId, workspaceId, events } = fixture);
  const upstream = await backend("up");
  upstreamId = (
    await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/upstreams`, {
        name: "up",
        servers: [{ address: `127.0.0.1:${upstream.port}` }],
      }),
      201,
    )
  ).id as string;
});

afterAll(async () => {
  await sidecar?.stop();
  await fixture?.stop();
  await closeAll();
});

describe("agent objects", () => {
  test("deployment_mode: standalone when the agent says nothing; the mode it reports at join otherwise, over REST and gRPC", async () => {
    const plain = await ok(rest("GET", `/v1/agents/${agentId}`));
    expect(plain.deployment_mode).toBe("standalone");

    const token = await ok(rest("POST", `/v1/workspaces/${workspaceId}/agents/tokens`, {}), 201);
    sidecar = await startInProcessAgent(fixture.fleet, {
      dataDir: join(fixture.dir, "sidecar"),
      token: token.token as string,
      hostname: "sidecar-1",
      deploymentMode: "docker_sidecar",
    });
    const got = await ok(rest("GET", `/v1/agents/${sidecar.id}`));
    expect(got.deployment_mode).toBe("docker_sidecar");
    const listed = await ok(rest("GET", `/v1/workspaces/${workspaceId}/agents`));
    const modes = Object.fromEntries(
      (listed.data as Json[]).map((agent) => [agent.id, agent.deployment_mode]),
    );
    expect(modes).toEqual({ [agentId]: "standalone", [sidecar.id]: "docker_sidecar" });
    const { agent } = await fixture.fleet.operator.getAgent({ id: sidecar.id });
    expect(agent?.deploymentMode).toBe(DeploymentMode.DOCKER_SIDECAR);
  });

  test("health has the seed's flat fields with the seed's types, from the agent's nginx and its applied config version", async () => {
    const { status } = await settledWithEvent();
    const health = await waitFor("a health report with nginx running", async () => {
      const got = await ok(rest("GET", `/v1/agents/${agentId}`));
      const current = got.health as Json | null;
      return current?.nginx_status === "running" ? current : undefined;
    });
    expect(health.nginx_status).toBe("running");
    expect(health.config_version).toBe(status.applied_version as number);
    const types = Object.fromEntries(
      [
        "nginx_uptime_seconds",
        "active_connections",
        "requests_per_second",
        "cpu_percent",
        "memory_used_mb",
        "config_version",
      ].map((field) => [field, typeof health[field]]),
    );
    expect(Object.values(types)).toEqual(Array(6).fill("number"));
    for (const field of ["nginx_uptime_seconds", "active_connections", "config_version"])
      expect({ field, integer: Number.isInteger(health[field]) }).toEqual({ field, integer: true });
    expect(health.active_connections).toBeGreaterThanOrEqual(1);
    expect(health.config_version).toBeGreaterThanOrEqual(1);
    // Drover's nested detail stays.
    expect(health.nginx).toMatchObject({ running: true });
    expect(typeof health.config_hash).toBe("string");
  });
});

describe("config versions", () => {
  test("each new configuration is the next integer, in REST, gRPC and config.applied", async () => {
    const before = (await settledWithEvent()).status.version as number;
    expect(before).toBeGreaterThanOrEqual(1);
    const seen: number[] = [];
    const hashes: string[] = [];
    for (const name of ["one", "two"]) {
      await createHost(name, await freePort());
      const { status, event } = await settledWithEvent();
      expect(status).toMatchObject({
        state: "success",
        version: status.desired_version,
        applied_version: status.desired_version,
        config_id: status.desired_config_hash,
        config_hash: status.desired_config_hash,
        applied_config_hash: status.desired_config_hash,
        error_message: null,
      });
      expect(event).toMatchObject({
        agent_id: agentId,
        config_id: status.config_id,
        version: status.version,
        config_hash: status.config_hash,
        success: true,
      });
      expect(Number.isInteger(event.duration_ms)).toBe(true);
      const { status: grpc } = await fixture.fleet.operator.getAgentConfig({ agentId });
      expect({
        version: grpc?.configVersion,
        desired: grpc?.desiredConfigVersion,
        applied: grpc?.appliedConfigVersion,
        hash: grpc?.version,
      }).toEqual({
        version: BigInt(status.version as number),
        desired: BigInt(status.version as number),
        applied: BigInt(status.version as number),
        hash: status.config_hash as string,
      });
      const { agent } = await fixture.fleet.operator.getAgent({ id: agentId });
      expect(agent?.configVersion).toBe(BigInt(status.version as number));
      seen.push(status.version as number);
      hashes.push(status.config_hash as string);
    }
    expect(seen).toEqual([before + 1, before + 2]);
    expect(new Set(hashes).size).toBe(2);
  });

  test("a failed apply is config.applied with success false (and config.failed); applied_version stays", async () => {
    const good = (await settledWithEvent()).status;
    const taken = await listen();
    try {
      // `nginx -t` passes; the reload cannot bind the port another process holds.
      const bad = await createHost("clash", portOf(taken));
      const { status, event } = await settledWithEvent();
      const next = (good.version as number) + 1;
      expect(status).toMatchObject({
        state: "rolled_back",
        version: next,
        applied_version: good.version,
        applied_config_hash: good.config_hash,
      });
      expect(status.error_message).toContain("Address already in use");
      expect(event).toMatchObject({
        agent_id: agentId,
        config_id: status.config_hash,
        version: next,
        success: false,
        state: "rolled_back",
      });
      expect(Number.isInteger(event.duration_ms)).toBe(true);
      expect(
        events.some(
          (e) =>
            e.type === "config.failed" &&
            e.subjectId === agentId &&
            (e.data as unknown as Json).version === next,
        ),
      ).toBe(true);
      await ok(rest("DELETE", `/v1/virtual-hosts/${bad}`), 204);
      const repaired = (await settledWithEvent()).status;
      expect(repaired).toMatchObject({ state: "success", version: next + 1 });
    } finally {
      taken.close();
    }
  });
});
