// Issue 12, node functions over REST and the log-following WebSocket: metrics, health, declared commands, logs and GPIO through a real agent's session.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { appendFile, readdir, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseAgentNodeConfig } from "../../lib/agent/node/config.ts";
import { MemberRole } from "../../lib/gen/drover/v1/operator_pb.ts";
import { type AdminRest, adminRest } from "../support/admin-rest.ts";
import { connectJsonSocket, type EventSocketClient } from "../support/event-socket-client.ts";
import { createSimulatedGpioChip, type SimulatedGpioChip } from "../support/gpio-sim.ts";
import { httpsClient } from "../support/https-client.ts";
import {
  type InProcessAgent,
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "../support/in-process.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;

let fleet: InProcessFleet;
let admin: AdminRest;
let agent: InProcessAgent;
let chip: SimulatedGpioChip;
let logPath: string;
let markerPath: string;
let base: string;

beforeAll(async () => {
  fleet = await startInProcessFleet({ rateLimitPerMinute: 1_000_000 });
  admin = await adminRest(fleet, { organization: "nodes", workspace: "bench" });
  // A SIMULATION of libgpiod's tools over files: this machine has no kernel gpio-sim.
  chip = await createSimulatedGpioChip(join(fleet.dir, "gpio"), { version: "2.1.3" });
  logPath = join(fleet.dir, "app.log");
  markerPath = join(fleet.dir, "touched");
  await writeFile(logPath, Array.from({ length: 30 }, (_, i) => `old line ${i + 1}\n`).join(""));
  const config = parseAgentNodeConfig(
    JSON.stringify({
      commands: {
        greet: {
          argv: ["/bin/echo", "hello"],
          timeout: "5s",
          max_output_bytes: 4096,
          arg_pattern: "[a-z]+",
          max_args: 2,
        },
        fail: { argv: ["/bin/sh", "-c", "echo oops >&2; exit 3"], timeout: "5s" },
      },
      logs: { app: logPath },
      gpio: {
        relay1: {
          chip: "gpiochip0",
          offset: 17,
          direction: "output",
          active_low: false,
          initial: "off",
          safe: "off",
        },
      },
    }),
    "agent.json",
  );
  const { token } = await admin.ok(
    admin.rest("POST", `/v1/workspaces/${admin.workspaceId}/agents/tokens`, { name: "pi-1" }),
    201,
  );
  agent = await startInProcessAgent(fleet, {
    dataDir: join(fleet.dir, "agent"),
    token: token as string,
    hostname: "pi-1",
    node: { config, toolPath: `${chip.binDir}:/usr/bin:/bin` },
  });
  base = `/v1/agents/${agent.id}`;
});
afterAll(async () => {
  await agent?.stop();
  await fleet?.stop();
});

const get = (path: string) => admin.ok(admin.rest("GET", `${base}${path}`));

/** The error body of a call answered with `status`. */
async function refused(path: string, status: number, body?: unknown, rest = admin.rest) {
  const answer = await admin.ok(rest(body === undefined ? "GET" : "POST", path, body), status);
  return answer.error as { code: string; message: string; details: Json[] };
}

/** Descriptors of this process (the in-process agent's) open on the log file: a real kernel view. */
async function openOnLog(): Promise<number> {
  const fds = await readdir("/proc/self/fd");
  const targets = await Promise.all(
    fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => "")),
  );
  return targets.filter((target) => target === logPath).length;
}

/** The log-follow socket, authenticated by the token in the URL. */
function follow(query: string, token = admin.accessToken): Promise<EventSocketClient> {
  return connectJsonSocket(
    `wss://${fleet.server.endpoints.http}${base}/system-logs/follow?token=${token}&${query}`,
    fleet.server.fleet.deps.authority.ca.certificatePem,
    {},
    10_000,
  );
}

describe("node functions over REST", () => {
  test("system-metrics answers fresh, sane figures from the agent", async () => {
    const metrics = await get("/system-metrics");
    expect(metrics.hostname).toBe("pi-1");
    expect(metrics.cpu_count as number).toBeGreaterThan(0);
    expect(metrics.memory_total_bytes as number).toBeGreaterThan(0);
    expect(metrics.memory_used_bytes as number).toBeLessThanOrEqual(
      metrics.memory_total_bytes as number,
    );
    expect(metrics.memory_usage as number).toBeGreaterThanOrEqual(0);
    expect(metrics.memory_usage as number).toBeLessThanOrEqual(100);
    expect(metrics.load_average as number[]).toHaveLength(3);
    expect(metrics.uptime_seconds as number).toBeGreaterThan(0);
    expect(Array.isArray(metrics.network)).toBe(true);
    expect(Array.isArray(metrics.temperatures)).toBe(true);
    const at = Date.parse(metrics.timestamp as string);
    expect(Math.abs(Date.now() - at)).toBeLessThan(60_000);
    expect(new Date(at).toISOString()).toBe(metrics.timestamp as string);
  });

  test("health-check is a round trip with its latency", async () => {
    const health = await get("/health-check");
    expect(health).toMatchObject({ status: "OK" });
    expect(typeof health.version).toBe("string");
    expect(health.latency_ms as number).toBeGreaterThan(0);
    expect(health.latency_ms as number).toBeLessThan(10_000);
  });

  test("/node lists what the agent's config declares", async () => {
    const node = await get("/node");
    expect(node.commands).toContainEqual({
      name: "greet",
      argv: ["/bin/echo", "hello"],
      timeout_ms: 5000,
      max_output_bytes: 4096,
      arg_pattern: "[a-z]+",
      max_args: 2,
    });
    expect(node.logs).toEqual(["app"]);
    expect(node.gpio).toEqual([
      {
        name: "relay1",
        chip: "gpiochip0",
        offset: 17,
        direction: "output",
        active_low: false,
        bias: "as-is",
        initial: "off",
        safe: "off",
      },
    ]);
    expect(typeof node.journald).toBe("boolean");
  });

  test("exec runs a declared command; a non-zero exit is still 200 with its exit code", async () => {
    const ran = await admin.ok(
      admin.rest("POST", `${base}/exec`, { command: "greet", args: ["world"] }),
    );
    expect(ran).toMatchObject({
      exit_code: 0,
      stdout: "hello world\n",
      stderr: "",
      timed_out: false,
      stdout_truncated: false,
    });
    const failed = await admin.ok(admin.rest("POST", `${base}/exec`, { command: "fail" }));
    expect(failed).toMatchObject({ exit_code: 3, stderr: "oops\n", stdout: "" });
  });

  test("an undeclared command is 404 and nothing runs", async () => {
    const error = await refused(`${base}/exec`, 404, { command: "touch", args: [markerPath] });
    expect(error.code).toBe("NOT_FOUND");
    expect(error.message).toContain("touch");
    expect(existsSync(markerPath)).toBe(false);
  });

  test("a bad body is 422 naming the field", async () => {
    const unknown = await refused(`${base}/exec`, 422, { command: "greet", shell: true });
    expect(unknown.details.map((d) => d.field)).toEqual(["shell"]);
    const badArgs = await refused(`${base}/exec`, 422, { command: "greet", args: "world" });
    expect(badArgs.details.map((d) => d.field)).toEqual(["args"]);
    const badName = await refused(`${base}/exec`, 422, { command: "../bin/sh" });
    expect(badName.details.map((d) => d.field)).toEqual(["command"]);
    const noLevel = await refused(`${base}/gpio/relay1`, 422, { action: "set" });
    expect(noLevel.details.map((d) => d.field)).toEqual(["level"]);
  });

  test("gpio set drives the (simulated) chip's line; get reads it back", async () => {
    const on = await admin.ok(
      admin.rest("POST", `${base}/gpio/relay1`, { action: "set", level: "on" }),
    );
    expect(on).toEqual({ line: "relay1", chip: "gpiochip0", offset: 17, level: "on" });
    expect(await chip.read("gpiochip0", 17)).toBe(1);
    expect(await get("/gpio/relay1")).toMatchObject({ level: "on" });
    await admin.ok(admin.rest("POST", `${base}/gpio/relay1`, { action: "set", level: "off" }));
    expect(await chip.read("gpiochip0", 17)).toBe(0);
    expect(await get("/gpio/relay1")).toMatchObject({ level: "off" });
    expect((await refused(`${base}/gpio/relay9`, 404)).code).toBe("NOT_FOUND");
  });

  test("system-logs returns the last lines of a declared file", async () => {
    const { entries } = await get("/system-logs?file=app&lines=3");
    expect((entries as Json[]).map((e) => e.message)).toEqual([
      "old line 28",
      "old line 29",
      "old line 30",
    ]);
    expect((entries as Json[])[0]).toMatchObject({ source: "app", priority: 6 });
    expect(Number.isNaN(Date.parse((entries as Json[])[0]?.timestamp as string))).toBe(false);
    const undeclared = await refused(`${base}/system-logs?file=secrets`, 404);
    expect(undeclared.code).toBe("NOT_FOUND");
    const badSince = await refused(`${base}/system-logs?file=app&since=yesterday`, 422);
    expect(badSince.details.map((d) => d.field)).toEqual(["since"]);
  });

  test("the follow socket delivers an appended line; closing it ends the agent's reading", async () => {
    expect(await openOnLog()).toBe(0);
    const socket = await follow("file=app&lines=2");
    await socket.next((m) => m.message === "old line 30", "the backlog");
    expect(socket.messages.map((m) => m.message)).toEqual(["old line 29", "old line 30"]);
    expect(socket.messages[0]).toMatchObject({ type: "entry", source: "app", priority: 6 });
    // The agent holds the file open while it follows it.
    expect(await openOnLog()).toBe(1);
    await appendFile(logPath, "a new line\n");
    await socket.next((m) => m.message === "a new line", "the appended line");
    socket.ws.close();
    await socket.closed;
    await waitFor("the agent to stop reading the file", async () => (await openOnLog()) === 0, {
      timeoutMs: 10_000,
      intervalMs: 50,
    });
  });

  test("the follow socket says what failed, then closes with 4000 + the status", async () => {
    const undeclared = await follow("file=secrets");
    expect(await undeclared.closed).toMatchObject({ code: 4404 });
    expect(undeclared.messages).toEqual([
      { type: "error", error: expect.objectContaining({ code: "NOT_FOUND" }) },
    ]);
    const bad = await follow("file=app&lines=0");
    expect(await bad.closed).toMatchObject({ code: 4422 });
    expect(bad.messages).toEqual([
      {
        type: "error",
        error: expect.objectContaining({ details: [expect.objectContaining({ field: "lines" })] }),
      },
    ]);
    await expect(follow("file=app", "not-a-token")).rejects.toThrow("upgrade: 401");
    // Without an upgrade, the path says to use a WebSocket.
    expect((await refused(`${base}/system-logs/follow`, 426)).code).toBe("UPGRADE_REQUIRED");
  });

  test("at most 4 follows per user at once", async () => {
    const open = await Promise.all([1, 2, 3, 4].map(() => follow("file=app&lines=1")));
    for (const socket of open) await socket.next((m) => m.type === "entry", "the backlog");
    const fifth = await follow("file=app&lines=1");
    expect(await fifth.closed).toMatchObject({ code: 4429 });
    expect(fifth.messages[0]).toMatchObject({ type: "error", error: { code: "RATE_LIMITED" } });
    for (const socket of open) socket.ws.close();
    await Promise.all(open.map((socket) => socket.closed));
    // The count is given back when they close.
    const again = await follow("file=app&lines=1");
    await again.next((m) => m.type === "entry", "a follow after the others closed");
    again.ws.close();
    await again.closed;
  });

  test("a viewer reads metrics and GPIO levels but cannot exec or switch GPIO", async () => {
    await fleet.operator.createUser({
      email: "viewer@nodes.example",
      password: "viewer-password-1",
      role: MemberRole.VIEWER,
      organizationSlug: "nodes",
    });
    const call = httpsClient(`https://${fleet.server.endpoints.http}`, {
      caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
    });
    const login = await admin.ok(
      call("POST", "/v1/auth/login", {
        body: { email: "viewer@nodes.example", password: "viewer-password-1" },
      }),
    );
    const token = login.access_token as string;
    const viewer = (method: string, path: string, body?: unknown) =>
      call(method, path, { token, ...(body === undefined ? {} : { body }) });
    const metrics = await admin.ok(viewer("GET", `${base}/system-metrics`));
    expect(metrics.hostname).toBe("pi-1");
    const exec = await refused(`${base}/exec`, 403, { command: "greet" }, viewer);
    expect(exec.code).toBe("FORBIDDEN");
    await refused(`${base}/gpio/relay1`, 403, { action: "set", level: "on" }, viewer);
    expect(await chip.read("gpiochip0", 17)).toBe(0);
    const level = await admin.ok(viewer("GET", `${base}/gpio/relay1`));
    expect(level.level).toBe("off");
  });

  test("exec and GPIO are audited as events, with the actor", async () => {
    const { data } = await admin.ok(
      admin.rest("GET", "/v1/events?types=node.command_executed,node.gpio_controlled&limit=100"),
    );
    const events = data as Json[];
    const ran = events.find(
      (e) =>
        e.type === "node.command_executed" &&
        (e.data as Json).command === "greet" &&
        (e.data as Json).exit_code === 0,
    );
    expect(ran?.data).toMatchObject({
      agent_id: agent.id,
      args: ["world"],
      actor: { kind: "user" },
    });
    const refusedRun = events.find(
      (e) => e.type === "node.command_executed" && (e.data as Json).command === "touch",
    );
    expect(refusedRun?.data).toMatchObject({ exit_code: null, error: expect.any(String) });
    const switched = events.find(
      (e) =>
        e.type === "node.gpio_controlled" &&
        (e.data as Json).action === "set" &&
        (e.data as Json).level === "on",
    );
    expect(switched?.data).toMatchObject({
      agent_id: agent.id,
      line: "relay1",
      actor: { kind: "user" },
    });
  });

  // Last: it stops the agent.
  test("an agent that is not connected answers 503", async () => {
    await agent.stop();
    await waitFor("the agent's session to close", () =>
      fleet.server.delivery.connected(agent.id) ? undefined : true,
    );
    const error = await refused(`${base}/system-metrics`, 503);
    expect(error.code).toBe("SERVICE_UNAVAILABLE");
    expect((await refused("/v1/agents/no-such-agent/health-check", 404)).code).toBe("NOT_FOUND");
  });
});
