// Issue 10, the first hour: a machine on the network joins with the printed command (a second network namespace).
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { externalAddresses } from "../../lib/net/index.ts";
import { Harness, type ServerProcess, waitFor } from "./harness.ts";

setDefaultTimeout(40_000);

// Names unique to this run; interface names stay within 15 characters.
const tag = process.pid % 100_000;
const namespace = `drover-t${tag}`;
const hostSide = `dvh${tag}`;
const netnsSide = `dvn${tag}`;
const subnet = `10.213.${tag % 250}`;
const hostAddress = `${subnet}.1`;
const netnsAddress = `${subnet}.2`;

function ip(...args: string[]): { ok: boolean; output: string } {
  const result = spawnSync("ip", args, { encoding: "utf8", timeout: 5_000 });
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

/** A namespace joined to this one by a veth pair, routed through it; the reason when it cannot be made. */
function createNamespace(): string | undefined {
  const steps = [
    ["netns", "add", namespace],
    ["link", "add", hostSide, "type", "veth", "peer", "name", netnsSide],
    ["link", "set", netnsSide, "netns", namespace],
    ["addr", "add", `${hostAddress}/24`, "dev", hostSide],
    ["link", "set", hostSide, "up"],
    ["-n", namespace, "addr", "add", `${netnsAddress}/24`, "dev", netnsSide],
    ["-n", namespace, "link", "set", netnsSide, "up"],
    ["-n", namespace, "link", "set", "lo", "up"],
    ["-n", namespace, "route", "add", "default", "via", hostAddress],
  ];
  for (const step of steps) {
    const result = ip(...step);
    if (!result.ok) return `ip ${step.join(" ")}: ${result.output}`;
  }
  return undefined;
}

function removeNamespace(): void {
  ip("netns", "del", namespace);
  ip("link", "del", hostSide);
}

let h: Harness;
let server: ServerProcess;
let noNamespace: string | undefined;

beforeAll(async () => {
  noNamespace = createNamespace();
  if (noNamespace !== undefined) {
    removeNamespace();
    console.warn(
      `network namespaces unavailable (${noNamespace}); joining from this machine's own non-loopback address instead`,
    );
  }
  h = await Harness.create("network");
  // Every interface for registration and agents, as by default; started after the
  // veth exists, so the certificate carries its address.
  server = await h.startServer({
    registration: ":0",
    agent: ":0",
    operator: "127.0.0.1:0",
    http: "127.0.0.1:0",
  });
});

afterAll(async () => {
  await h?.cleanup();
  removeNamespace();
});

test("the printed agent command, run on another host, joins over a non-loopback address", async () => {
  const banner = await waitFor("the join commands", () => {
    const lines = server.stdout().split("\n");
    const at = lines.findIndex((line) => line.trim().startsWith("TOKEN=$("));
    return at < 0 ? undefined : { token: lines[at]?.trim(), agent: lines[at + 1]?.trim() };
  });
  const remote = externalAddresses(networkInterfaces());
  if (remote.length === 0) {
    console.warn("this machine has no non-loopback address: nothing to join over");
    return;
  }
  if (noNamespace === undefined) expect(server.stdout()).toContain(`${hostAddress}:`);
  expect(banner.agent).not.toContain("--server 127.0.0.1:");
  // The token is made here, on the server; the agent runs there, with it.
  const made = await h.exec("bash", ["-c", `${banner.token}\nprintf %s "$TOKEN"`]);
  expect(made.code).toBe(0);
  await mkdir(h.path("there"));
  h.startShell("agent in the namespace", `${banner.agent ?? ""}\n`, {
    cwd: h.path("there"),
    env: { TOKEN: made.stdout },
    ...(noNamespace === undefined ? { prefix: ["ip", "netns", "exec", namespace] } : {}),
  });
  const id = await h.agentIdOf("there/agent-data");
  const online = await h.waitForAgentState(id, "online");
  // Its own address, as seen inside the namespace: it really ran there.
  if (noNamespace === undefined) expect(online.ip).toBe(netnsAddress);
});
