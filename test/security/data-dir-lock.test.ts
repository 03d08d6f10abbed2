// Audit item (issue 9, medium): a stale server.lock whose pid is alive blocked start until deleted by hand.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DroverServer, startDroverServer } from "../../lib/server/index.ts";

setDefaultTimeout(30_000);

const loopback = {
  registrationAddress: "127.0.0.1:0",
  agentAddress: "127.0.0.1:0",
  operatorAddress: "127.0.0.1:0",
  httpAddress: "127.0.0.1:0",
};
const lockModule = new URL("../../lib/server/data-dir-lock.ts", import.meta.url).pathname;

let dir: string;
const running: DroverServer[] = [];
let child: ReturnType<typeof spawn> | undefined;

afterEach(async () => {
  child?.kill("SIGKILL");
  for (const server of running.splice(0)) await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

function fresh(): string {
  dir = mkdtempSync(join(tmpdir(), "drover-lock-"));
  return join(dir, "server");
}

async function start(dataDir: string): Promise<DroverServer> {
  const server = await startDroverServer({ dataDir, ...loopback });
  running.push(server);
  return server;
}

/** Another process that takes the data dir's lock and holds it until killed. */
async function holdInChild(dataDir: string) {
  mkdirSync(dataDir, { mode: 0o700 });
  const holder = spawn(
    process.execPath,
    [
      "-e",
      `const { lockDataDir } = await import(${JSON.stringify(lockModule)});
       globalThis.unlock = await lockDataDir(${JSON.stringify(dataDir)});
       console.log("locked");
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  child = holder;
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("locked")) resolve();
    });
    holder.on("exit", (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  const exited = new Promise<void>((resolve) => holder.on("exit", () => resolve()));
  return {
    pid: holder.pid as number,
    kill: async () => {
      holder.kill("SIGKILL");
      await exited;
    },
  };
}

describe("one server per data dir, with a lock that dies with its holder", () => {
  test("a holder killed with SIGKILL leaves nothing to delete: a new server starts at once, whatever pid the files name", async () => {
    const dataDir = fresh();
    const holder = await holdInChild(dataDir);
    await expect(start(dataDir)).rejects.toThrow(
      `another Drover server (pid ${holder.pid}) holds data dir ${dataDir}`,
    );
    await holder.kill();
    // A container restarted after kill -9 gives the new server the old one's pid: a live one.
    writeFileSync(join(dataDir, "server.pid"), `${process.pid}\n`);
    const server = await start(dataDir);
    expect(server.endpoints.http).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  test("an older version's server.lock naming a live pid (this test's own) does not block start", async () => {
    const dataDir = fresh();
    await start(dataDir).then((server) => server.stop());
    running.length = 0;
    writeFileSync(join(dataDir, "server.lock"), `${process.pid}\n`);
    const server = await start(dataDir);
    expect(server.firstAdmin).toBeUndefined();
  });

  test("two live servers on one data dir: the second is refused, naming the first, and the first keeps running", async () => {
    const dataDir = fresh();
    const first = await start(dataDir);
    const second = start(dataDir);
    await expect(second).rejects.toThrow(
      `another Drover server (pid ${process.pid}) holds data dir ${dataDir} (${join(dataDir, "server.lock")} is locked); stop it first or choose another --data-dir`,
    );
    const health = await fetch(`https://${first.endpoints.http}/healthz`, {
      tls: { ca: first.fleet.deps.authority.ca.certificatePem },
    } as RequestInit);
    expect(health.status).toBe(200);
    // Once it stops, the data dir is free again.
    await first.stop();
    running.length = 0;
    await start(dataDir);
  });
});
