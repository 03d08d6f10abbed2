// Issue 10, the first hour: `npx drover …` runs the source on the bundled Bun right after `npm ci`.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { droverVersion } from "../../lib/version.ts";
import { Harness, repoRoot, waitFor } from "./harness.ts";

setDefaultTimeout(40_000);

const launcher = join(repoRoot, "bin", "drover.mjs");
let h: Harness;

beforeAll(async () => {
  h = await Harness.create("launcher");
});

afterAll(async () => {
  await h?.cleanup();
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("package.json names the launcher as the drover bin", () => {
  const manifest = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
    bin?: Record<string, string>;
  };
  expect(manifest.bin).toEqual({ drover: "bin/drover.mjs" });
});

test("npx drover version, from the repo before any build", async () => {
  const result = await h.exec("npx", ["--no-install", "drover", "version"], { cwd: repoRoot });
  expect(result.stderr).toBe("");
  expect(result.stdout).toBe(
    `drover ${droverVersion}\ncommit: unknown\ntarget: ${process.platform}-${process.arch}\n`,
  );
  expect(result.code).toBe(0);
});

test("the launcher runs the server and token create; SIGTERM to it stops the server and exits 0", async () => {
  const dataDir = h.path("server");
  const server = spawn(
    "node",
    [
      launcher,
      "server",
      "--data-dir",
      dataDir,
      ...["--registration-addr", "127.0.0.1:0", "--agent-addr", "127.0.0.1:0"],
      ...["--operator-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"],
    ],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  server.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  server.stderr.resume();
  const exited = new Promise<number | null>((done) => server.once("exit", (code) => done(code)));
  try {
    await waitFor("the server banner", () => stdout.includes("Join a machine"));
    // The printed commands name the launcher by its absolute path: they work from any directory.
    expect(stdout).toContain(`TOKEN=$(${launcher} token create --data-dir ${dataDir} `);
    const token = await h.exec(
      "node",
      [launcher, "token", "create", "--data-dir", dataDir, "--role", "agent"],
      { cwd: h.root },
    );
    expect(token.code).toBe(0);
    expect(token.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    // The server runs in the Bun child; it names its pid in the data dir.
    const child = Number(readFileSync(join(dataDir, "server.pid"), "utf8").trim());
    expect(child).not.toBe(server.pid);
    expect(isAlive(child)).toBe(true);
    server.kill("SIGTERM");
    expect(await exited).toBe(0);
    await waitFor("the Bun child to be gone", () => !isAlive(child));
    // A clean stop, not a kill: the server removed its pid file on the way out.
    expect(existsSync(join(dataDir, "server.pid"))).toBe(false);
  } finally {
    if (server.exitCode === null) server.kill("SIGKILL");
  }
});
