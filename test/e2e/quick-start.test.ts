// Issue 10, the first hour: the commands `drover server` prints work verbatim; a failed join spends nothing.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { externalAddresses, formatHostPort } from "../../lib/net/index.ts";
import { freePort } from "../support/loopback.ts";
import { Harness, type ServerProcess, waitFor } from "./harness.ts";
import { type JoinCommands, joinCommands } from "./printed-join.ts";

setDefaultTimeout(40_000);

let h: Harness;
let server: ServerProcess;
/** The two lines under "Join a machine": the token command and the agent command. */
let printed: JoinCommands;
const nginxPids: number[] = [];

beforeAll(async () => {
  h = await Harness.create("quick-start");
  // The server runs in one directory with a relative data dir, as `npm start` does
  // (./.drover); the printed commands run in other directories.
  await mkdir(h.path("server-cwd"));
  server = await h.startServer(
    { registration: ":0", agent: ":0", operator: "127.0.0.1:0", http: "127.0.0.1:0" },
    { cwd: h.path("server-cwd"), dataDirFlag: "../server" },
  );
  printed = await waitFor("the join commands on stdout", () => joinCommands(server.stdout()));
});

afterAll(async () => {
  // A managed nginx outlives its agent by design: stop it here.
  for (const pid of nginxPids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {}
  }
  await h?.cleanup();
});

describe("the printed join commands", () => {
  test("name the data dir by its absolute path and dial an address other machines reach", () => {
    expect(printed.token).toContain(`--data-dir ${h.dataDir} `);
    expect(printed.agent).toContain("--data-dir ./agent-data");
    // Registration binds every interface here: loopback only on a machine without another address.
    const port = server.endpoints.registration.split(":").pop();
    const host = externalAddresses(networkInterfaces())[0] ?? "127.0.0.1";
    expect(printed.agent).toContain(`--server ${formatHostPort({ host, port: Number(port) })} `);
  });

  test("the printed web UI address serves the UI, over the fleet CA's TLS", () => {
    const line = server
      .stdout()
      .split("\n")
      .find((text) => text.trim().startsWith("web UI"));
    const url = line?.trim().split(/\s+/).pop() ?? "";
    expect(url).toMatch(/^https:\/\/.+:\d+\/$/);
    const page = spawnSync("curl", ["-sS", "--cacert", join(h.dataDir, "ca.pem"), url], {
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(page.stderr).toBe("");
    expect(page.stdout).toContain('<div id="app">');
  });

  test("run verbatim from another directory, the agent joins and comes online", async () => {
    await mkdir(h.path("elsewhere"));
    h.startShell("printed join", `${printed.token}\n${printed.agent}\n`, {
      cwd: h.path("elsewhere"),
    });
    const id = await h.agentIdOf("elsewhere/agent-data");
    await h.waitForAgentState(id, "online");
  });

  test("with --nginx-mode managed appended, the agent comes online and runs nginx", async () => {
    await mkdir(h.path("managed"));
    const statusPort = await freePort();
    const agent = `${printed.agent} --nginx-mode managed --nginx-status-port ${statusPort}`;
    h.startShell("printed join, managed nginx", `${printed.token}\n${agent}\n`, {
      cwd: h.path("managed"),
    });
    const id = await h.agentIdOf("managed/agent-data");
    await h.waitForAgentState(id, "online");
    const pidFile = h.path("managed/agent-data/nginx/logs/nginx.pid");
    const pid = await waitFor("the managed nginx to write its pid", () =>
      existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : undefined,
    );
    nginxPids.push(pid);
    expect(() => process.kill(pid, 0)).not.toThrow();
  });
});

describe("a join that fails", () => {
  /** Nothing of a data dir: neither it nor a staging dir beside it. */
  function leftovers(name: string): string[] {
    return readdirSync(h.root).filter((entry) => entry === name || entry.includes(`${name}.`));
  }

  test("names --data-dir when it is a file, and an unreachable server leaves no data dir; the token still works", async () => {
    const token = await h.createToken("agent");
    await writeFile(h.path("a-file"), "not a directory\n");
    const onFile = await h.runAgent({
      dataDir: "a-file",
      server: server.endpoints.registration,
      token,
    });
    expect(onFile.code).not.toBe(0);
    expect(onFile.stderr).toContain("--data-dir");
    expect(onFile.stderr).toContain("not a directory");

    const closedPort = await freePort();
    const unreachable = await h.runAgent({
      dataDir: "unreached",
      server: `127.0.0.1:${closedPort}`,
      token,
    });
    expect(unreachable.code).not.toBe(0);
    expect(leftovers("unreached")).toEqual([]);

    h.startAgent({ dataDir: "second-try", server: server.endpoints.registration, token });
    const id = await h.agentIdOf("second-try");
    await h.waitForAgentState(id, "online");
    expect(leftovers("second-try")).toEqual(["second-try"]);
  });

  test("that fails after Register says the token is used up, and leaves nothing half-written", async () => {
    const token = await h.createToken("agent");
    // A directory where the key file goes: only the final move into the data dir can fail.
    await mkdir(h.path("blocked/agent.key/in-the-way"), { recursive: true });
    const result = await h.runAgent({
      dataDir: "blocked",
      server: server.endpoints.registration,
      token,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/registered as agent ag-[0-9a-f]+, but writing its identity/);
    expect(result.stderr).toContain("the token is used up");
    expect(readdirSync(h.path("blocked")).sort()).toEqual(["agent.key"]);
    expect(leftovers("blocked")).toEqual(["blocked"]);
  });
});
