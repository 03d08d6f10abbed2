// Issue 12, "End to end with the binary": node functions through `drover agents metrics|ping|exec|logs|gpio`.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { RegistrationService } from "../../lib/gen/drover/v1/registration_pb.ts";
import { createCertificateRequest, generateKeyPair } from "../../lib/pki/index.ts";
import { grpcTransport } from "../../lib/transport/index.ts";
import { createSimulatedGpioChip, type SimulatedGpioChip } from "../support/gpio-sim.ts";
import {
  binary,
  Harness,
  type RunningProcess,
  type ServerProcess,
  sleep,
  waitFor,
} from "./harness.ts";

// bunfig.toml's [test] timeout is not read by bun test; processes need more than 5 s.
setDefaultTimeout(30_000);

describe("drover agents metrics, ping, exec, logs and gpio against an agent started with --config", () => {
  let h: Harness;
  let server: ServerProcess;
  let agentId: string;
  let chip: SimulatedGpioChip;
  let logPath: string;
  let pidFile: string;
  let marker: string;
  let configDir: string;

  beforeAll(async () => {
    h = await Harness.create("node-functions");
    server = await h.startServer();
    logPath = h.path("app.log");
    pidFile = h.path("sleeper.pid");
    marker = h.path("marker");
    writeFileSync(logPath, "before the follow\n");
    // A SIMULATION of a GPIO chip and libgpiod 2's tools: this machine has no kernel gpio-sim.
    chip = await createSimulatedGpioChip(h.path("gpio"), { version: "2.1.3" });
    const configPath = h.path("agent.json");
    writeFileSync(
      configPath,
      JSON.stringify({
        commands: {
          greet: { argv: ["echo", "hello"], timeout: "5s", arg_pattern: "[a-z]+" },
          "exit-three": { argv: ["sh", "-c", "echo out; echo err >&2; exit 3"], timeout: "5s" },
          sleeper: {
            argv: ["sh", "-c", `sleep 30 & echo $! > ${pidFile}; sleep 30`],
            timeout: "1s",
          },
        },
        logs: { app: logPath },
        gpio: {
          relay1: {
            chip: "gpiochip0",
            offset: 17,
            direction: "output",
            initial: "off",
            safe: "off",
          },
        },
      }),
    );
    h.startAgent({
      dataDir: "agent",
      server: server.endpoints.registration,
      token: await h.createToken("agent"),
      extraArgs: ["--config", configPath],
      env: { PATH: `${chip.binDir}:${process.env.PATH ?? "/usr/bin:/bin"}` },
    });
    agentId = await waitFor("the agent's id", () => h.agentIdOf(h.path("agent")));
    await h.waitForAgentState(agentId, "online");

    // The stored login (REST with a bearer token), as people use the CLI.
    const match = /email\s+(\S+)\n\s+password\s+(\S+)/.exec(server.stdout());
    if (!match) throw new Error(`no first admin in the server's stdout:\n${server.stdout()}`);
    configDir = h.path("config");
    await mkdir(configDir, { recursive: true });
    const login = await h.exec(
      "bash",
      [
        "-c",
        `printf '%s\\n' "$PASSWORD" | "$DROVER" login --server "$URL" --email "$EMAIL" --password-stdin`,
      ],
      {
        env: {
          PASSWORD: match[2] as string,
          EMAIL: match[1] as string,
          DROVER: binary,
          URL: `https://${server.endpoints.http}`,
          DROVER_CONFIG_DIR: configDir,
        },
      },
    );
    expect(login.code).toBe(0);
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  /** `drover agents …` as the server's admin (its data dir). */
  const agents = (...args: string[]) => h.run(["agents", ...args, "--data-dir", h.dataDir]);
  /** `drover agents …` as the user of `drover login`. */
  const agentsAsUser = (...args: string[]) =>
    h.run(["agents", ...args], { env: { DROVER_CONFIG_DIR: configDir } });

  test("exec runs a declared command, prints its output as it was and exits with its exit code", async () => {
    const greeted = await agents("exec", agentId, "greet", "world");
    expect(greeted).toMatchObject({ code: 0, stdout: "hello world\n" });
    const failed = await agents("exec", agentId, "exit-three");
    expect(failed).toMatchObject({ code: 3, stdout: "out\n", stderr: "err\n" });
  });

  test("exec of an undeclared command is refused (exit 2) and nothing runs", async () => {
    const refused = await agents("exec", agentId, "touch", marker);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("touch");
    expect(refused.stderr).toContain("--config");
    const badArgument = await agents("exec", agentId, "greet", "x;touch");
    expect(badArgument.code).toBe(2);
    expect(badArgument.stderr).toContain("args[0]");
    await sleep(300);
    expect(existsSync(marker)).toBe(false);
  });

  test("a command that outlives its 1 s timeout is killed with its children (exit 124)", async () => {
    const started = Date.now();
    const killed = await agents("exec", agentId, "sleeper");
    expect(killed.code).toBe(124);
    expect(killed.stderr).toContain("timed out");
    expect(Date.now() - started).toBeLessThan(10_000);
    const child = Number(readFileSync(pidFile, "utf8").trim());
    expect(child).toBeGreaterThan(1);
    // The backgrounded `sleep 30` (a grandchild of the agent) is gone with its group.
    await waitFor("the background sleep to be gone", () => {
      try {
        process.kill(child, 0);
        return false;
      } catch {
        return true;
      }
    });
  });

  /** `drover agents logs … --follow` as a long-running child, until it shows `line`. */
  async function followShows(proc: RunningProcess, line: string): Promise<void> {
    await waitFor(
      "the backlog",
      () => proc.stdout().includes("before the follow") || proc.exit() !== undefined,
    );
    expect(proc.exit()).toBeUndefined();
    appendFileSync(logPath, `${line}\n`);
    await waitFor(`"${line}" in the follow's output`, () => proc.stdout().includes(line));
    expect(proc.stdout()).toMatch(new RegExp(`\\d{4}-\\d\\d-\\d\\dT\\S+ (\\S+ )?app: ${line}`));
  }

  test("logs --file app --follow shows lines appended after it started (admin certificate and stored login)", async () => {
    const asAdmin = h.startShell(
      "logs --follow (admin)",
      `exec "$DROVER" agents logs "$ID" --file app --follow --data-dir "$DATA_DIR"`,
      { cwd: h.root, env: { DROVER: binary, ID: agentId, DATA_DIR: h.dataDir } },
    );
    await followShows(asAdmin, "appended for the admin");
    asAdmin.child.kill("SIGINT");
    expect((await asAdmin.exited).code).toBe(0);

    const asUser = h.startShell(
      "logs --follow (login)",
      `exec "$DROVER" agents logs "$ID" --file app --follow`,
      { cwd: h.root, env: { DROVER: binary, ID: agentId, DROVER_CONFIG_DIR: configDir } },
    );
    await followShows(asUser, "appended for the user");
    asUser.child.kill("SIGINT");
    expect((await asUser.exited).code).toBe(0);

    const past = await agents("logs", agentId, "--file", "app", "--lines", "2");
    expect(past.code).toBe(0);
    expect(
      past.stdout
        .trimEnd()
        .split("\n")
        .map((l) => l.replace(/^\S+ (\S+ )?app: /, "")),
    ).toEqual(["appended for the admin", "appended for the user"]);
  });

  test("gpio relay1 on drives the simulated chip's line; get prints on; pulse returns it", async () => {
    const on = await agents("gpio", agentId, "relay1", "on");
    expect(on.code).toBe(0);
    expect(on.stdout).toBe("on\n");
    expect(await chip.read("gpiochip0", 17)).toBe(1);
    const got = await agents("gpio", agentId, "relay1", "get");
    expect(got).toMatchObject({ code: 0, stdout: "on\n" });
    await agents("gpio", agentId, "relay1", "off");
    expect(await chip.read("gpiochip0", 17)).toBe(0);
    const before = (await chip.runs()).length;
    const pulsed = await agents("gpio", agentId, "relay1", "pulse", "200ms");
    expect(pulsed.code).toBe(0);
    // Driven on during the pulse, and off again after it.
    const during = (await chip.runs()).slice(before);
    expect(during.some((run) => run.tool === "gpioset" && run.argv.includes("17=1"))).toBe(true);
    expect(await chip.read("gpiochip0", 17)).toBe(0);
    const undeclared = await agents("gpio", agentId, "relay9", "on");
    expect(undeclared.code).toBe(1);
    expect(undeclared.stderr).toContain("relay9");
  });

  test("ping answers with the round trip; metrics -o json is REST's object, the table is for people", async () => {
    const ping = await agentsAsUser("ping", agentId);
    expect(ping.code).toBe(0);
    expect(ping.stdout).toMatch(
      new RegExp(`^agent ${agentId} answered in \\d+\\.\\d ms \\(drover \\S+\\)\\n$`),
    );

    const json = await agents("metrics", agentId, "-o", "json");
    expect(json.code).toBe(0);
    const metrics = JSON.parse(json.stdout) as {
      memory_total_bytes: number;
      load_average: number[];
      hostname: string;
    };
    expect(metrics.memory_total_bytes).toBeGreaterThan(0);
    expect(metrics.load_average).toHaveLength(3);
    const table = await agents("metrics", agentId);
    expect(table.code).toBe(0);
    for (const row of ["HOST", "CPU", "MEMORY", "DISK", "LOAD", "UPTIME"])
      expect(table.stdout).toMatch(new RegExp(`^${row}\\s`, "m"));
    expect(table.stdout).toContain(metrics.hostname);
  });

  test("an agent that is not connected: the CLI says so and what to do next", async () => {
    // Registered directly, so no `drover agent` ever connects for it.
    const registration = createClient(
      RegistrationService,
      grpcTransport(server.endpoints.registration, {
        caPem: readFileSync(join(h.dataDir, "ca.pem"), "utf8"),
      }),
    );
    const idle = await registration.register({
      token: await h.createToken("agent"),
      role: Role.AGENT,
      csr: await createCertificateRequest(await generateKeyPair()),
      hostname: "idle-pi.lan",
    });
    const ping = await agents("ping", idle.id);
    expect(ping.code).toBe(1);
    expect(ping.stderr).toContain(`agent ${idle.id} is not connected`);
    expect(ping.stderr).toContain("idle-pi.lan");
    expect(ping.stderr).toContain("drover agents list");
  });
});
