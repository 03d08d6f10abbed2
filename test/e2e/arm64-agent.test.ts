// Issue 15, builds: the linux-arm64 binary, run for real under qemu-user, joins an x64 server,
// comes online, receives a file and its configuration, and rides out a server restart.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  binary,
  Harness,
  type RunningProcess,
  repoRoot,
  type ServerProcess,
  waitFor,
} from "./harness.ts";

// Everything under emulation is ~10× slower: starting the binary alone takes 5-12 s.
setDefaultTimeout(120_000);
const emulatedMs = 90_000;

const arm64Binary = join(repoRoot, "dist", "drover-linux-arm64");
/** qemu-user runs the aarch64 binary with Debian's aarch64 C library (libc6-arm64-cross). */
const underQemu = ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu", arm64Binary];

describe("an arm64 agent (qemu-user) on an x64 server", () => {
  let h: Harness;
  let server: ServerProcess;
  let agent: RunningProcess;
  let agentId: string;

  beforeAll(async () => {
    if (!existsSync(arm64Binary)) {
      throw new Error(`${arm64Binary} is missing: build it with \`npm run build:bin\``);
    }
    h = await Harness.create("arm64");
    server = await h.startServer();
  });
  afterAll(() => h?.cleanup());

  /** Creates a file for every agent of the default workspace; returns its path under the root. */
  async function pushFile(name: string, content: string): Promise<string> {
    const path = `arm64/${name}.txt`;
    const created = await h.exec(
      "bash",
      [
        "-c",
        'printf %s "$BODY" | "$DROVER" create file --data-dir "$DIR" --workspace default --from-file - -o id',
      ],
      {
        env: {
          BODY: JSON.stringify({ name, path, content, target_agents: { type: "all" } }),
          DROVER: binary,
          DIR: h.dataDir,
        },
      },
    );
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    return path;
  }

  /** Waits for a pushed file on the arm64 agent's disk and returns its text. */
  async function delivered(path: string): Promise<string> {
    const file = h.path(join("pi", "files", path));
    await waitFor(
      `${path} on the arm64 agent's disk`,
      () => existsSync(file) || undefined,
      emulatedMs,
    );
    return readFile(file, "utf8");
  }

  async function appliedConfig(): Promise<Record<string, unknown>> {
    return waitFor(
      "the arm64 agent to apply its desired configuration",
      async () => {
        const result = await h.runOk([
          "agents",
          "config",
          agentId,
          "--data-dir",
          h.dataDir,
          "-o",
          "json",
        ]);
        const config = JSON.parse(result.stdout) as Record<string, unknown>;
        const current =
          config.state === "success" && config.applied_config_hash === config.desired_config_hash;
        return current ? config : undefined;
      },
      emulatedMs,
    );
  }

  test("the arm64 binary reports its target", async () => {
    const result = await h.exec(
      underQemu[0] ?? "",
      [...underQemu.slice(1), "version", "-o", "json"],
      {
        deadlineMs: emulatedMs,
      },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ target: "linux-arm64" });
  });

  test("joins with a token and comes online", async () => {
    const token = await h.createToken("agent", ["--label", "arch=arm64"]);
    agent = h.startAgent({
      dataDir: "pi",
      server: server.endpoints.registration,
      token,
      program: underQemu,
    });
    agentId = await h.agentIdOf("pi", emulatedMs);
    const online = await h.waitForAgentState(agentId, "online", emulatedMs);
    expect(online.labels).toEqual({ arch: "arm64" });
  });

  test("receives a file and applies the configuration that carries it", async () => {
    const before = await appliedConfig();
    const path = await pushFile("motd", "hello from x64\n");
    expect(await delivered(path)).toBe("hello from x64\n");
    const after = await appliedConfig();
    expect(after.applied_version as number).toBeGreaterThan(before.applied_version as number);
  });

  test("rides out a server restart: the same process reconnects and takes the next change", async () => {
    const stopped = await h.stop(server);
    expect(stopped.code).toBe(0);
    server = await h.startServer(server.endpoints);
    await h.waitForAgentState(agentId, "online", emulatedMs);
    expect(agent.exit()).toBeUndefined();
    const path = await pushFile("after-restart", "still here\n");
    expect(await delivered(path)).toBe("still here\n");
  });
});
