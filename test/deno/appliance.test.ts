import { afterAll, expect, test } from "bun:test";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "../support/loopback.ts";

// The appliance entry run from source by Deno (not Bun): a server, and an agent
// that joins it, both as Deno processes.
const run = promisify(execFile);
const deno = join(import.meta.dir, "../../node_modules/.bin/deno");
const entry = join(import.meta.dir, "../../appliance/main.ts");
const dir = mkdtempSync(join(tmpdir(), "drover-deno-"));
const children: ChildProcess[] = [];

function drover(args: string[]) {
  const child = spawn(deno, ["run", "-A", entry, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  return child;
}

/** Deno processes answer a while after starting: probe every 200 ms, failures are "not yet". */
const patiently = { intervalMs: 200, retryErrors: true };

afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("under Deno, the appliance serves and an agent joins", async () => {
  const serverDir = join(dir, "server");
  drover([
    "server",
    "--data-dir",
    serverDir,
    "--registration-addr",
    "127.0.0.1:0",
    "--agent-addr",
    "127.0.0.1:0",
    "--operator-addr",
    "127.0.0.1:0",
    "--http-addr",
    "127.0.0.1:0",
    "--heartbeat-interval",
    "1s",
  ]);
  const endpointsFile = join(serverDir, "endpoints.json");
  const endpoints = await waitFor(
    "server endpoints",
    async () =>
      existsSync(endpointsFile)
        ? (JSON.parse(readFileSync(endpointsFile, "utf8")) as { registration: string })
        : undefined,
    patiently,
  );
  const denoRun = (args: string[]) => run(deno, ["run", "-A", entry, ...args], { timeout: 30_000 });
  const { stdout: token } = await denoRun([
    "token",
    "create",
    "--data-dir",
    serverDir,
    "--role",
    "agent",
    "--label",
    "runtime=deno",
  ]);
  drover([
    "agent",
    "--server",
    endpoints.registration,
    "--token",
    token.trim(),
    "--data-dir",
    join(dir, "agent"),
  ]);
  const agents = await waitFor(
    "agent online",
    async () => {
      const { stdout } = await denoRun(["agents", "list", "--data-dir", serverDir, "--json"]);
      const list = JSON.parse(stdout) as Array<{ state: string; labels: Record<string, string> }>;
      return list.some((agent) => agent.state === "online") ? list : undefined;
    },
    patiently,
  );
  expect(agents).toHaveLength(1);
  expect(agents[0]?.labels).toEqual({ runtime: "deno" });
}, 90_000);
