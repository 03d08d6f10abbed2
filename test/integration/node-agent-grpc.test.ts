// Issue 12, "Independent client: grpc-js calls NodeAgent with the admin credential" (operator gRPC).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { parseAgentNodeConfig } from "../../lib/agent/node/index.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { serverPaths } from "../../lib/server/index.ts";
import { createSimulatedGpioChip, type SimulatedGpioChip } from "../support/gpio-sim.ts";
import { channelOptions, loadProtos } from "../support/grpc-js-protos.ts";
import {
  type InProcessAgent,
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "../support/in-process.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(30_000);

// Nothing from lib/ on the client side: the .proto file, grpc-js and the data dir's PEM files.
const NodeAgent = (
  loadProtos(["drover/node/v1/node.proto"], { longs: Number, oneofs: false }) as unknown as {
    drover: { node: { v1: { NodeAgent: grpc.ServiceClientConstructor } } };
  }
).drover.node.v1.NodeAgent;

let dir: string;
let logPath: string;
let marker: string;
let fleet: InProcessFleet;
let edge: InProcessAgent;
let chip: SimulatedGpioChip;
let client: grpc.Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "drover-node-grpc-"));
  logPath = join(dir, "app.log");
  marker = join(dir, "marker");
  writeFileSync(logPath, "first line\n");
  // A SIMULATION of a GPIO chip and libgpiod 2's tools: this machine has no kernel gpio-sim.
  chip = await createSimulatedGpioChip(join(dir, "gpio"), { version: "2.1.3" });
  const config = parseAgentNodeConfig(
    JSON.stringify({
      commands: {
        echo: { argv: ["echo", "hello"], timeout: "5s", arg_pattern: "[a-z]+", max_args: 2 },
        fail: { argv: ["sh", "-c", "echo broken >&2; exit 3"], timeout: "5s" },
      },
      logs: { app: logPath },
      gpio: {
        relay1: { chip: "gpiochip0", offset: 17, direction: "output", initial: "off", safe: "off" },
      },
    }),
    "test config",
  );
  fleet = await startInProcessFleet();
  const { token } = await fleet.operator.createJoinToken({ role: Role.AGENT });
  edge = await startInProcessAgent(fleet, {
    dataDir: join(dir, "agent"),
    token,
    hostname: "edge-node",
    node: { config, toolPath: `${chip.binDir}:/usr/bin:/bin` },
  });
  const paths = serverPaths(join(fleet.dir, "server"));
  client = new NodeAgent(
    fleet.server.endpoints.operator,
    grpc.credentials.createSsl(
      readFileSync(paths.caCertificate),
      readFileSync(paths.adminKey),
      readFileSync(paths.adminCertificate),
    ),
    channelOptions,
  );
});

afterAll(async () => {
  client?.close();
  await edge?.stop();
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Metadata naming `agentId`; null: none at all. */
function metadataFor(agentId: string | null): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (agentId !== null) metadata.set("drover-agent-id", agentId);
  return metadata;
}

/** One unary NodeAgent call through the generic client, with a deadline so nothing hangs. */
function unary<Reply>(
  method: string,
  request: object,
  agentId: string | null = edge.id,
): Promise<Reply> {
  const method_ = NodeAgent.service[method];
  if (!method_) throw new Error(`no method ${method}`);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method_.path,
      method_.requestSerialize,
      method_.responseDeserialize,
      request,
      metadataFor(agentId),
      { deadline: Date.now() + 10_000 },
      (error, reply) => (error ? reject(error) : resolve(reply as Reply)),
    );
  });
}

async function callError(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error("the call succeeded but should have failed");
}

/** How many file descriptors of this process (the agent runs in it) are open on `path`. */
function openDescriptors(path: string): number {
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}

describe("NodeAgent on the operator bind, called by @grpc/grpc-js with the admin certificate", () => {
  test("GetSystemMetrics answers the agent machine's measures", async () => {
    const metrics = await unary<{
      memoryTotalBytes: number;
      memoryUsage: number;
      cpuCount: number;
      hostname: string;
      uptimeSeconds: number;
    }>("GetSystemMetrics", {});
    expect(metrics.memoryTotalBytes).toBeGreaterThan(0);
    expect(metrics.memoryUsage).toBeGreaterThan(0);
    expect(metrics.memoryUsage).toBeLessThanOrEqual(100);
    expect(metrics.cpuCount).toBeGreaterThan(0);
    expect(metrics.uptimeSeconds).toBeGreaterThan(0);
    expect(metrics.hostname).not.toBe("");
  });

  test("HealthCheck is a round trip through the session: status OK, with its latency", async () => {
    const health = await unary<{ status: string; latencyMs: number; version: string }>(
      "HealthCheck",
      {},
    );
    expect(health.status).toBe("OK");
    expect(health.latencyMs).toBeGreaterThan(0);
    expect(health.version).not.toBe("");
  });

  test("ExecuteCommand runs a declared command with allowed arguments and returns its output and exit code", async () => {
    const ran = await unary<{ exitCode: number; stdout: string; timedOut: boolean }>(
      "ExecuteCommand",
      { command: "echo", args: ["world"] },
    );
    expect(ran).toMatchObject({ exitCode: 0, stdout: "hello world\n", timedOut: false });
    const failed = await unary<{ exitCode: number; stderr: string }>("ExecuteCommand", {
      command: "fail",
    });
    expect(failed).toMatchObject({ exitCode: 3, stderr: "broken\n" });
  });

  test("an undeclared command is NOT_FOUND and nothing runs; a disallowed argument is INVALID_ARGUMENT", async () => {
    const undeclared = await callError(
      unary("ExecuteCommand", { command: "touch", args: [marker] }),
    );
    expect(undeclared.code).toBe(grpc.status.NOT_FOUND);
    expect(existsSync(marker)).toBe(false);
    const badArgument = await callError(
      unary("ExecuteCommand", { command: "echo", args: ["; touch /tmp/x"] }),
    );
    expect(badArgument.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  test("StreamLogs follows a declared file as it grows; cancelling the call ends the agent's reading", async () => {
    const messages: string[] = [];
    const call = client.makeServerStreamRequest(
      NodeAgent.service.StreamLogs?.path ?? "",
      NodeAgent.service.StreamLogs?.requestSerialize ?? (() => Buffer.alloc(0)),
      NodeAgent.service.StreamLogs?.responseDeserialize ?? (() => ({})),
      { file: "app", follow: true, lines: 10 },
      metadataFor(edge.id),
      { deadline: Date.now() + 20_000 },
    );
    const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    call.on("data", (entry: { message: string; source: string }) => {
      expect(entry.source).toBe("app");
      messages.push(entry.message);
    });
    call.on("error", () => {});
    await waitFor("the backlog", () => messages.includes("first line") || undefined);
    // The agent holds the file open while it follows it.
    expect(openDescriptors(logPath)).toBeGreaterThan(0);
    appendFileSync(logPath, "appended while following\n");
    await waitFor(
      "the appended line",
      () => messages.includes("appended while following") || undefined,
    );

    call.cancel();
    expect((await ended).code).toBe(grpc.status.CANCELLED);
    await waitFor(
      "the agent to stop reading the file",
      () => openDescriptors(logPath) === 0 || undefined,
    );
  });

  test("ControlGPIO with the seed's (pin, HIGH) sets the declared line: the simulated chip reads 1", async () => {
    const set = await unary<{ success: boolean; state: string; line: string; chip: string }>(
      "ControlGPIO",
      { pin: 17, state: "HIGH" },
    );
    expect(set).toMatchObject({ success: true, state: "HIGH", line: "relay1", chip: "gpiochip0" });
    expect(await chip.read("gpiochip0", 17)).toBe(1);
    const got = await unary<{ state: string }>("ControlGPIO", { line: "relay1", action: "GET" });
    expect(got.state).toBe("HIGH");
    const undeclared = await callError(unary("ControlGPIO", { pin: 4, state: "HIGH" }));
    expect(undeclared.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(undeclared.details).toContain("pin");
    expect(await chip.read("gpiochip0", 4)).toBe(0);
  });

  test("DescribeNode lists what the agent's config declares", async () => {
    const described = await unary<{
      commands: Array<{ name: string; argv: string[] }>;
      logs: string[];
      gpio: Array<{ name: string; offset: number }>;
    }>("DescribeNode", {});
    expect(described.commands.map((c) => c.name).sort()).toEqual(["echo", "fail"]);
    expect(described.logs).toEqual(["app"]);
    expect(described.gpio).toMatchObject([{ name: "relay1", offset: 17 }]);
  });

  test("without the drover-agent-id metadata: INVALID_ARGUMENT naming it; an unknown agent: NOT_FOUND", async () => {
    const missing = await callError(unary("HealthCheck", {}, null));
    expect(missing.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(missing.details).toContain("drover-agent-id");
    const unknown = await callError(unary("HealthCheck", {}, "ag-000000000000"));
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
  });
});
