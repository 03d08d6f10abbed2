// Issue 12, the channel on a real session: one connection per agent, presence = the open session, calls with deadlines, slow readers, a session dropped mid-call.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAgentNodeConfig } from "../../lib/agent/node/index.ts";
import { operatorPrincipal } from "../../lib/auth/index.ts";
import { isDroverError } from "../../lib/errors/index.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { AgentState } from "../../lib/gen/drover/v1/operator_pb.ts";
import {
  type InProcessAgent,
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "../support/in-process.ts";
import { waitFor } from "../support/loopback.ts";
import { gone, readPidFile } from "../support/processes.ts";

const admin = operatorPrincipal("test-operator");
let fleet: InProcessFleet;
let agent: InProcessAgent;
let dir: string;
let logged: string[];

beforeEach(async () => {
  fleet = await startInProcessFleet({ heartbeatIntervalMs: 500 });
  dir = fleet.dir;
  writeFileSync(
    join(dir, "app.log"),
    `${Array.from({ length: 1000 }, (_, i) => `line ${i}`).join("\n")}\n`,
  );
  const config = parseAgentNodeConfig(
    JSON.stringify({
      commands: {
        hang: {
          argv: ["sh", "-c", `echo $$ > ${join(dir, "hang.pid")}; exec sleep 30`],
          timeout: "60s",
        },
      },
      logs: { app: join(dir, "app.log") },
    }),
    "test config",
  );
  const { token } = await fleet.operator.createJoinToken({ role: Role.AGENT });
  logged = [];
  const record = (message: string) => logged.push(message);
  agent = await startInProcessAgent(fleet, {
    logger: { info: record, warn: record, error: record },
    dataDir: join(dir, "agent"),
    token,
    hostname: "pi-channel",
    node: { config },
  });
});

afterEach(async () => {
  await agent.stop();
  await fleet.stop();
});

describe("one session per agent", () => {
  test("the agent holds exactly one connection to the agent bind", async () => {
    const port = fleet.server.endpoints.agent.split(":").at(-1);
    // Heartbeats, delivery and calls all flow on it: make some pass first.
    await fleet.server.node.healthCheck(admin, agent.id);
    // This process's sockets only (the agent runs in it): other processes may use the same port number.
    const established = execFileSync(
      "ss",
      ["-Htnp", "state", "established", `( dst 127.0.0.1 and dport = :${port} )`],
      { encoding: "utf8" },
    )
      .split("\n")
      .filter((line) => line.includes(`pid=${process.pid},`));
    expect(established.length).toBe(1);
  });

  test("online exactly while the session is open: delivery and presence agree", async () => {
    const online = await waitFor("online with a heartbeat", async () => {
      const { agent: seen } = await fleet.operator.getAgent({ id: agent.id });
      return seen?.state === AgentState.ONLINE && seen.lastHealth ? seen : undefined;
    });
    expect(online.lastHealth?.memoryTotalBytes).toBeGreaterThan(0n);
    expect(fleet.server.delivery.connected(agent.id)).toBe(true);
    await agent.stop();
    await waitFor("offline", async () => {
      const { agent: seen } = await fleet.operator.getAgent({ id: agent.id });
      return seen?.state === AgentState.OFFLINE;
    });
    expect(fleet.server.delivery.connected(agent.id)).toBe(false);
    const refused = await fleet.server.node
      .healthCheck(admin, agent.id)
      .catch((error: unknown) => error);
    expect(isDroverError(refused) && refused.code).toBe("unavailable");
  });
});

describe("calls on the session", () => {
  test("the agent's first call, to the server, is welcomed: connected although nothing was delivered", async () => {
    // Nothing is configured for this agent, so no delivery ever arrives; the welcome does.
    await waitFor("connected", () => logged.includes("connected"));
    expect(logged).not.toContain("the server did not welcome the session");
  });

  test("a health check round trip, and 60 concurrent calls all answer", async () => {
    const health = await fleet.server.node.healthCheck(admin, agent.id);
    expect(health.status).toBe("OK");
    expect(health.latencyMs).toBeGreaterThan(0);
    expect(health.latencyMs).toBeLessThan(1000);
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 2 === 0
          ? fleet.server.node.healthCheck(admin, agent.id).then((h) => h.status)
          : fleet.server.node.describe(admin, agent.id).then((d) => d.logs.join()),
      ),
    );
    expect(new Set(results)).toEqual(new Set(["OK", "app"]));
  });

  test("a slow reader of a log stream does not hold up other calls on the session", async () => {
    const controller = new AbortController();
    const stream = fleet.server.node.streamLogs(
      admin,
      agent.id,
      { file: "app", follow: true, lines: 1000 },
      controller.signal,
    );
    const first = await stream.next();
    expect(first.value?.message).toBe("line 0");
    // Nobody reads the stream now; the session still answers at once.
    const started = performance.now();
    expect((await fleet.server.node.healthCheck(admin, agent.id)).status).toBe("OK");
    expect(performance.now() - started).toBeLessThan(2000);
    const seen = [first.value?.message];
    appendFileSync(join(dir, "app.log"), "appended while following\n");
    for await (const line of stream) {
      seen.push(line.message);
      if (line.message === "appended while following") break;
    }
    expect(seen.length).toBe(1001);
    expect(seen[999]).toBe("line 999");
    controller.abort();
  });

  test("the session drops mid-call: the caller gets unavailable at once and the command's process is killed", async () => {
    const running = fleet.server.node.executeCommand(admin, agent.id, {
      command: "hang",
      args: [],
    });
    const pid = await readPidFile(join(dir, "hang.pid"), 10_000);
    const stopped = performance.now();
    await agent.stop();
    const error = await running.catch((e: unknown) => e);
    expect(isDroverError(error) && error.code).toBe("unavailable");
    expect(String((error as Error).message)).toMatch(/disconnected|ended/);
    expect(performance.now() - stopped).toBeLessThan(10_000);
    expect(await gone(pid, 5000)).toBe(true);
    // The attempt is audited with no exit code.
    const audit = await waitFor("the audit event", async () => {
      const { events } = await fleet.operator.listEvents({ types: ["node.command_executed"] });
      return events.length > 0 ? events : undefined;
    });
    expect(audit[0]?.subjectId).toBe(agent.id);
    expect(audit[0]?.data).toMatchObject({
      command: "hang",
      exit_code: null,
      actor: { kind: "operator", id: "test-operator" },
    });
  });
});
