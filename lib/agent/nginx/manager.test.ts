/**
 * The managed nginx applier against the real nginx: a master in a temp
 * prefix, backends on loopback, traffic through it after every apply.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backend, closeAll, freePort, httpGet as get } from "../../../test/support/loopback.ts";
import { compileNginxConfig, type NginxModel } from "../../nginx/index.ts";
import { type ApplyPhase, createNginxManager, type ManagedNginxManager } from "./index.ts";
import { isAlive, readPidFile } from "./process.ts";
import { applySteps, host, killNginx, v1Model, v2Model } from "./testing.ts";

const prefixes: string[] = [];

let prefix: string;
let port: number;
let statusPort: number;
let backendOne: number;
let backendTwo: number;
let manager: ManagedNginxManager;
let nowMs = Date.now();
const clock = { now: () => new Date(nowMs) };
const phases: ApplyPhase[] = [];

function compile(model: NginxModel): string {
  const result = compileNginxConfig(
    { global: { workerProcesses: 1 }, ...model },
    {
      statusPort,
      certificateAvailable: () => true,
      resolvable: () => false,
      runtime: manager.runtime,
    },
  );
  return (result.files[0] as { content: string }).content;
}

const v1 = () => compile(v1Model(port, backendOne));
const v2model = () => v2Model(port, backendOne, backendTwo);
const v2 = () => compile(v2model());

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const live = () => readFile(manager.paths.config, "utf8");

beforeAll(async () => {
  prefix = await realpath(await mkdtemp(join(tmpdir(), "drover-managed-nginx-")));
  prefixes.push(prefix);
  port = await freePort();
  statusPort = await freePort();
  backendOne = (await backend("one", { echoHost: true })).port;
  backendTwo = (await backend("two", { echoHost: true })).port;
  manager = createNginxManager({
    prefix,
    statusPort,
    clock,
    onPhase: (_version, phase) => {
      phases.push(phase);
    },
  });
});

afterAll(async () => {
  for (const dir of prefixes) {
    await killNginx(join(dir, "logs", "nginx.pid"));
    await rm(dir, { recursive: true, force: true });
  }
  await closeAll();
});

describe("managed nginx", () => {
  test("the first apply starts nginx and traffic reaches the backend", async () => {
    const report = await manager.apply(v1(), "v1");
    expect(report.errors).toEqual([]);
    expect(report.status).toBe("SUCCESS");
    expect(report.version).toBe("v1");
    expect(report.steps.map((s) => s.name)).toEqual(applySteps("start", "confirm"));
    expect(report.steps.every((s) => s.ok && s.ms >= 0)).toBe(true);
    expect(phases).toEqual(["PENDING", "VALIDATING", "APPLYING", "SUCCESS"]);
    expect(await get(port, "a.test")).toEqual({ status: 200, body: `one a.test` });

    const status = await manager.status();
    expect(status.running).toBe(true);
    expect(status.pid).toBe((await readPidFile(manager.paths.pidFile)) as number);
    expect(status.workers.length).toBe(1);
    expect(status.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(status.configVersion).toBe("v1");
    expect(status.activeConnections).toBeGreaterThanOrEqual(1);
    expect(status.requestsPerSecond).toBeNull();
  });

  test("status: requests per second from the stub_status counter", async () => {
    const first = await manager.status();
    for (let i = 0; i < 4; i += 1) await get(port, "a.test");
    nowMs += 2000;
    const second = await manager.status();
    // 4 proxied requests + the stub_status request of `first` itself, over 2 s.
    expect(second.requestsTotal).toBe((first.requestsTotal as number) + 5);
    expect(second.requestsPerSecond).toBe(2.5);
  });

  test("apply a second upstream and host: SUCCESS by reload, traffic follows", async () => {
    const before = await manager.status();
    const report = await manager.apply(v2(), "v2");
    expect(report.errors).toEqual([]);
    expect(report.status).toBe("SUCCESS");
    expect(report.steps.map((s) => s.name)).toEqual(applySteps("reload", "confirm"));
    const after = await manager.status();
    expect(after.pid).toBe(before.pid as number);
    expect(after.workers).not.toEqual(before.workers);
    expect(after.configVersion).toBe("v2");
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "two a.test" });
    expect(await get(port, "b.test")).toEqual({ status: 200, body: "one b.test" });
    expect(await readFile(manager.paths.backup, "utf8")).toBe(v1());
  });

  test("a missing certificate fails nginx -t: FAILED, the live config untouched and serving", async () => {
    const bad = compile({
      ...v2model(),
      virtualHosts: [
        ...v2model().virtualHosts,
        {
          ...host("c", "c.test", "one", await freePort()),
          tls: {
            certificateId: "c",
            certificatePath: join(prefix, "no-such", "cert.pem"),
            keyPath: join(prefix, "no-such", "key.pem"),
          },
        },
      ],
    });
    const liveBefore = sha(await live());
    const validation = await manager.validate(bad);
    expect(validation.ok).toBe(false);
    expect(validation.errors.join("\n")).toContain("cannot load certificate");

    const report = await manager.apply(bad, "v-bad-cert");
    expect(report.status).toBe("FAILED");
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([
      ["stage", true],
      ["validate", false],
    ]);
    expect(report.errors.length).toBeGreaterThan(0);
    expect(report.errors[0]).toStartWith("[emerg] cannot load certificate");
    expect(sha(await live())).toBe(liveBefore);
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "two a.test" });
    expect((await manager.status()).configVersion).toBe("v2");
  });

  test("validate: the good config passes, a foreign pid path is refused", async () => {
    expect(await manager.validate(v1())).toEqual({ ok: true, errors: [] });
    const foreign = v1().replace(manager.paths.pidFile, "/run/other.pid");
    const result = await manager.validate(foreign);
    expect(result.ok).toBe(false);
    expect(result.errors[0]).toContain(manager.paths.pidFile);
  });

  test("a failing confirm (test hook) rolls back: ROLLED_BACK and the old config serves", async () => {
    const hooked = createNginxManager({
      prefix,
      statusPort,
      hooks: {
        confirm: () => {
          throw new Error("health probe failed");
        },
      },
    });
    const pid = (await manager.status()).pid;
    const report = await hooked.apply(v1(), "v3");
    expect(report.status).toBe("ROLLED_BACK");
    expect(report.errors).toEqual(["health probe failed"]);
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([
      ["stage", true],
      ["validate", true],
      ["backup", true],
      ["swap", true],
      ["reload", true],
      ["confirm", false],
      ["rollback", true],
    ]);
    expect(await live()).toBe(v2());
    expect((await manager.status()).pid).toBe(pid as number);
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "two a.test" });
    expect(await get(port, "b.test")).toEqual({ status: 200, body: "one b.test" });
    expect((await manager.status()).configVersion).toBe("v2");
  });

  test("a reload nginx refuses (port taken, passes -t) rolls back with nginx's error", async () => {
    const busyPort = (await backend("busy")).port;
    const model = v2model();
    const conflicting = compile({
      ...model,
      virtualHosts: [...model.virtualHosts, host("d", "d.test", "one", busyPort)],
    }).replace(`listen ${busyPort}`, `listen 127.0.0.1:${busyPort}`);
    expect(conflicting).toContain(`listen 127.0.0.1:${busyPort}`);
    expect((await manager.validate(conflicting)).ok).toBe(true);

    const report = await manager.apply(conflicting, "v-busy");
    expect(report.status).toBe("ROLLED_BACK");
    expect(report.errors.join("\n")).toContain("Address already in use");
    expect(report.steps.find((s) => s.name === "confirm")?.ok).toBe(false);
    expect(report.steps.at(-1)).toMatchObject({ name: "rollback", ok: true });
    expect(await live()).toBe(v2());
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "two a.test" });
  });

  test("a new manager on the same prefix adopts the running master", async () => {
    const pid = (await manager.status()).pid as number;
    const again = createNginxManager({ prefix, statusPort });
    expect(await again.ensureRunning()).toEqual({ pid, started: false });
    expect((await again.status()).pid).toBe(pid);
    manager = again;
  });

  test("reload and restart keep serving", async () => {
    const before = await manager.status();
    const reloaded = await manager.reload();
    expect(reloaded).toEqual({ ok: true, pid: before.pid as number, errors: [] });
    expect((await manager.status()).workers).not.toEqual(before.workers);

    const restarted = await manager.restart(5000);
    expect(restarted.started).toBe(true);
    expect(restarted.pid).not.toBe(before.pid as number);
    expect(await isAlive(before.pid as number)).toBe(false);
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "two a.test" });
  });

  test("stop() stops it; a stale pid file is not adopted", async () => {
    const pid = (await manager.status()).pid as number;
    const stopped = await manager.stop(5000);
    expect(stopped).toEqual({ stopped: true, pid, signal: "SIGQUIT" });
    expect(await isAlive(pid)).toBe(false);
    expect((await manager.status()).running).toBe(false);
    await expect(get(port, "a.test")).rejects.toThrow();
    expect(await manager.stop(1000)).toEqual({ stopped: true });

    // Our own pid is alive but not nginx: ensureRunning starts a real master.
    await writeFile(manager.paths.pidFile, `${process.pid}\n`);
    const started = await manager.ensureRunning();
    expect(started.started).toBe(true);
    expect(started.pid).not.toBe(process.pid);
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "two a.test" });
    expect((await manager.stop(5000)).stopped).toBe(true);
  });

  test("ensureRunning without any applied config is refused", async () => {
    const empty = await realpath(await mkdtemp(join(tmpdir(), "drover-managed-nginx-")));
    prefixes.push(empty);
    const fresh = createNginxManager({ prefix: empty, statusPort });
    await expect(fresh.ensureRunning()).rejects.toMatchObject({ code: "failed_precondition" });
    expect((await fresh.status()).running).toBe(false);
  });
});
