/**
 * The system-mode nginx applier against the real nginx: a "system nginx"
 * simulated in a temp dir (its own nginx.conf with pid, error log and temp
 * paths inside it, a site of its own, `include <confDir>/*.conf;` in http {}),
 * started before the manager exists, as a distribution's would be. Only
 * 127.0.0.1, ephemeral ports.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backend, closeAll, freePort, httpGet as get } from "../../../test/support/loopback.ts";
import { compileNginxConfig, type NginxModel, nginxBuildPaths } from "../../nginx/index.ts";
import { nginxBinaryLookup, nginxVersionText } from "./command.ts";
import { type ApplyPhase, createSystemNginxManager, type SystemNginxManager } from "./index.ts";
import { isAlive, isNginxMaster, readPidFile } from "./process.ts";
import { applySteps, host, killNginx, v1Model, v2Model } from "./testing.ts";

const binary = nginxBinaryLookup();

let root: string;
let etc: string;
let confDir: string;
let stateDir: string;
let mainConfig: string;
let pidFile: string;
let errorLog: string;
let port: number;
let statusPort: number;
let systemPort: number;
let otherPort: number;
let backendOne: number;
let backendTwo: number;
let manager: SystemNginxManager;
let nowMs = Date.now();
const clock = { now: () => new Date(nowMs) };
const phases: ApplyPhase[] = [];

/** The system's own configuration: a site of its own and the include of confDir. */
function systemConfig(include = true): string {
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((kind) => `    ${kind}_temp_path ${root}/tmp/${kind};`)
    .join("\n");
  return `worker_processes 1;
pid ${pidFile};
error_log ${errorLog};

events {
    worker_connections 64;
}

http {
${temp}
    access_log ${root}/logs/access.log;
    # As Debian's nginx.conf: at http level, where the fragment must not repeat them.
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    gzip on;

    server {
        listen 127.0.0.1:${systemPort} default_server;
        return 200 "system\\n";
    }
${include ? `\n    include ${confDir}/*.conf;\n` : ""}}
`;
}

/** Starts the "system nginx" the way its supervisor would, outside any manager. */
async function startSystemNginx(): Promise<number> {
  const child = spawn(await binary(), ["-c", mainConfig], { stdio: "ignore" });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`nginx -c ${mainConfig} exited with ${code}`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pid = await readPidFile(pidFile);
    if (pid !== undefined && (await isNginxMaster(pid))) return pid;
    if (Date.now() > deadline) throw new Error("the system nginx did not start");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Compiled in include layout, listening on 127.0.0.1 only. */
function compile(model: NginxModel): string {
  const result = compileNginxConfig(model, {
    layout: manager.layout,
    statusPort,
    certificateAvailable: () => true,
    resolvable: () => false,
  });
  return (result.files[0] as { content: string }).content.replace(
    /^( +listen )(\d+)([ ;])/gm,
    "$1127.0.0.1:$2$3",
  );
}

const v1 = () => compile(v1Model(port, backendOne));
const v2model = () => v2Model(port, backendOne, backendTwo);
const v2 = () => compile(v2model());
const live = () => readFile(manager.paths.config, "utf8");

beforeAll(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), "drover-system-nginx-")));
  etc = join(root, "etc");
  confDir = join(etc, "conf.d");
  stateDir = join(root, "state");
  mainConfig = join(etc, "nginx.conf");
  pidFile = join(root, "run", "nginx.pid");
  errorLog = join(root, "logs", "error.log");
  for (const dir of [confDir, join(root, "run"), join(root, "logs"), join(root, "tmp")])
    await mkdir(dir, { recursive: true });
  port = await freePort();
  statusPort = await freePort();
  systemPort = await freePort();
  otherPort = await freePort();
  backendOne = (await backend("one", { echoHost: true })).port;
  backendTwo = (await backend("two", { echoHost: true })).port;
  await writeFile(mainConfig, systemConfig());
  // Another file of the system's in confDir: the test copy must see it too.
  await writeFile(
    join(confDir, "other.conf"),
    `upstream shared_pool {\n    server 127.0.0.1:1;\n}\nserver {\n    listen 127.0.0.1:${otherPort};\n    return 200 "other\\n";\n}\n`,
  );
  await startSystemNginx();
  manager = createSystemNginxManager({
    confDir,
    stateDir,
    mainConfig,
    statusPort,
    clock,
    onPhase: (_version, phase) => {
      phases.push(phase);
    },
  });
});

afterAll(async () => {
  if (pidFile) await killNginx(pidFile);
  if (root) await rm(root, { recursive: true, force: true });
  await closeAll();
});

describe("system nginx", () => {
  test("finds the running system nginx through its main configuration", async () => {
    const pid = (await readPidFile(pidFile)) as number;
    expect(await manager.locate()).toEqual({
      binary: await binary(),
      mainConfig,
      pidFile,
      errorLog,
    });
    expect(manager.layout).toBe("include");
    expect(manager.paths.config).toBe(join(confDir, "drover.conf"));
    expect(await manager.ensureRunning()).toEqual({ pid, started: false });
    const status = await manager.status();
    expect(status).toMatchObject({ running: true, pid });
    // No fragment yet: nothing listens on the status port.
    expect(status.statusError).toBeDefined();
    expect(await get(systemPort, "x")).toEqual({ status: 200, body: "system\n" });
  });

  test("a first apply whose confirm fails rolls back by removing the fragment", async () => {
    const hooked = createSystemNginxManager({
      confDir,
      stateDir,
      mainConfig,
      statusPort,
      hooks: {
        confirm: () => {
          throw new Error("health probe failed");
        },
      },
    });
    const report = await hooked.apply(v1(), "v0");
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
    expect(report.steps.find((s) => s.name === "backup")?.detail).toBe("no previous configuration");
    expect((await readdir(confDir)).sort()).toEqual(["other.conf"]);
    await expect(get(port, "a.test")).rejects.toThrow();
    expect(await get(systemPort, "x")).toEqual({ status: 200, body: "system\n" });
  });

  test("apply a fragment: SUCCESS by reload, traffic reaches the backend, the system's sites stay", async () => {
    const pid = (await manager.status()).pid;
    phases.length = 0;
    const report = await manager.apply(v1(), "v1");
    expect(report.errors).toEqual([]);
    expect(report.status).toBe("SUCCESS");
    expect(report.steps.map((s) => s.name)).toEqual(applySteps("reload", "confirm"));
    expect(phases).toEqual(["PENDING", "VALIDATING", "APPLYING", "SUCCESS"]);
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "one a.test" });
    expect(await get(systemPort, "x")).toEqual({ status: 200, body: "system\n" });
    expect(await get(otherPort, "x")).toEqual({ status: 200, body: "other\n" });
    expect((await manager.status()).pid).toBe(pid as number);
    // The agent wrote drover.conf and nothing else in the system's directories.
    expect((await readdir(confDir)).sort()).toEqual(["drover.conf", "other.conf"]);
    expect((await readdir(etc)).sort()).toEqual(["conf.d", "nginx.conf"]);
    expect(await live()).toBe(v1());
    expect(await readFile(mainConfig, "utf8")).toBe(systemConfig());
  });

  test("status reads stub_status from the fragment's status server", async () => {
    const first = await manager.status();
    expect(first.running).toBe(true);
    expect(first.statusError).toBeUndefined();
    expect(first.activeConnections).toBeGreaterThanOrEqual(1);
    expect(first.configVersion).toBe("v1");
    expect(first.workers.length).toBe(1);
    expect(first.uptimeSeconds).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 3; i += 1) await get(port, "a.test");
    nowMs += 2000;
    const second = await manager.status();
    // 3 proxied requests + the stub_status request of `first`, over 2 s.
    expect(second.requestsTotal).toBe((first.requestsTotal as number) + 4);
    expect(second.requestsPerSecond).toBe(2);
  });

  test("apply a second version: traffic follows, the backup holds the first", async () => {
    const report = await manager.apply(v2(), "v2");
    expect(report.status).toBe("SUCCESS");
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "two a.test" });
    expect(await get(port, "b.test")).toEqual({ status: 200, body: "one b.test" });
    expect(await readFile(manager.paths.backup, "utf8")).toBe(v1());
    expect((await manager.status()).configVersion).toBe("v2");
  });

  test("a missing certificate: FAILED with nginx's error, the live fragment untouched and serving", async () => {
    const model = v2model();
    const bad = compile({
      ...model,
      virtualHosts: [
        ...model.virtualHosts,
        {
          ...host("c", "c.test", "one", await freePort()),
          tls: {
            certificateId: "c",
            certificatePath: join(root, "no-such", "cert.pem"),
            keyPath: join(root, "no-such", "key.pem"),
          },
        },
      ],
    });
    const validation = await manager.validate(bad);
    expect(validation.ok).toBe(false);
    expect(validation.errors[0]).toStartWith("[emerg] cannot load certificate");

    const report = await manager.apply(bad, "v-bad-cert");
    expect(report.status).toBe("FAILED");
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([
      ["stage", true],
      ["validate", false],
    ]);
    expect(report.errors[0]).toStartWith("[emerg] cannot load certificate");
    expect(await live()).toBe(v2());
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "two a.test" });
    expect((await manager.status()).configVersion).toBe("v2");
    expect((await readdir(etc)).sort()).toEqual(["conf.d", "nginx.conf"]);
  });

  test("validate: text nginx refuses, and a clash with another file of the conf dir", async () => {
    const garbage = await manager.validate("this is not nginx");
    expect(garbage.ok).toBe(false);
    expect(garbage.errors.join("\n")).toContain("[emerg]");

    // nginx's messages name the real files, not the test copy's mirror of confDir.
    const unknown = await manager.validate("\nbogus_directive on;\n");
    expect(unknown).toEqual({
      ok: false,
      errors: [`[emerg] unknown directive "bogus_directive" in ${join(confDir, "drover.conf")}:2`],
    });

    const clash = await manager.validate(`upstream shared_pool {\n    server 127.0.0.1:2;\n}\n`);
    expect(clash.ok).toBe(false);
    // drover.conf comes first in the glob: nginx finds the second definition in other.conf.
    expect(clash.errors[0]).toContain(
      `duplicate upstream "shared_pool" in ${join(confDir, "other.conf")}:1`,
    );

    // Debian's nginx.conf sets gzip at http level: a fragment may not repeat it there.
    const duplicate = await manager.validate(`gzip on;\n${v2()}`);
    expect(duplicate.errors[0]).toContain('"gzip" directive is duplicate');

    expect(await manager.validate(v2())).toEqual({ ok: true, errors: [] });
    expect(await manager.validate("")).toEqual({
      ok: false,
      errors: ["configuration: must be non-empty text"],
    });
  });

  test("a reload nginx refuses (port taken, passes -t) rolls back with nginx's error", async () => {
    const busyPort = (await backend("busy")).port;
    const model = v2model();
    const conflicting = compile({
      ...model,
      virtualHosts: [...model.virtualHosts, host("d", "d.test", "one", busyPort)],
    });
    expect((await manager.validate(conflicting)).ok).toBe(true);

    const report = await manager.apply(conflicting, "v-busy");
    expect(report.status).toBe("ROLLED_BACK");
    expect(report.errors.join("\n")).toContain("Address already in use");
    expect(report.steps.find((s) => s.name === "confirm")?.ok).toBe(false);
    expect(report.steps.at(-1)).toMatchObject({ name: "rollback", ok: true });
    expect(await live()).toBe(v2());
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "two a.test" });
  });

  test("reload and restart act on the system master", async () => {
    const before = await manager.status();
    expect(await manager.reload()).toEqual({ ok: true, pid: before.pid as number, errors: [] });
    expect((await manager.status()).workers).not.toEqual(before.workers);

    const restarted = await manager.restart(5000);
    expect(restarted.started).toBe(true);
    expect(restarted.pid).not.toBe(before.pid as number);
    expect(await isAlive(before.pid as number)).toBe(false);
    expect(await readPidFile(pidFile)).toBe(restarted.pid);
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "two a.test" });
    expect(await get(systemPort, "x")).toEqual({ status: 200, body: "system\n" });
  });

  test("stopped: apply puts the file in place without starting nginx; ensureRunning starts it", async () => {
    const pid = (await manager.status()).pid as number;
    expect(await manager.stop(5000)).toEqual({ stopped: true, pid, signal: "SIGQUIT" });
    expect((await manager.status()).running).toBe(false);
    expect(await manager.reload()).toEqual({ ok: false, errors: ["nginx is not running"] });

    const report = await manager.apply(v1(), "v3");
    expect(report.status).toBe("SUCCESS");
    expect(report.steps.map((s) => s.name)).toEqual(applySteps("reload"));
    expect(report.steps.at(-1)?.detail).toStartWith("skipped");
    expect((await manager.status()).running).toBe(false);
    expect(await live()).toBe(v1());

    const started = await manager.ensureRunning();
    expect(started.started).toBe(true);
    expect(await get(port, "a.test")).toEqual({ status: 200, body: "one a.test" });
    expect((await manager.status()).configVersion).toBe("v3");
  });

  test("a main configuration that does not include the conf dir is refused before anything changes", async () => {
    const elsewhere = join(root, "other-main.conf");
    await writeFile(elsewhere, systemConfig(false));
    const unincluded = createSystemNginxManager({
      confDir,
      stateDir,
      mainConfig: elsewhere,
      statusPort,
    });
    const report = await unincluded.apply(v2(), "v-nowhere");
    expect(report.status).toBe("FAILED");
    expect(report.errors).toEqual([
      `${elsewhere} does not include ${join(confDir, "drover.conf")}: add "include ${confDir}/*.conf;" to its http {} block`,
    ]);
    expect(await live()).toBe(v1());
  });

  test("options: the main configuration defaults to nginx -V's --conf-path; stateDir stays out of confDir", async () => {
    const defaults = createSystemNginxManager({ confDir, stateDir, statusPort });
    const built = nginxBuildPaths(await nginxVersionText(await binary()));
    expect((await defaults.locate()).mainConfig).toBe(built.confPath);
    expect(() =>
      createSystemNginxManager({ confDir, stateDir: join(confDir, "state"), statusPort }),
    ).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    expect(() => createSystemNginxManager({ confDir: "conf.d", stateDir, statusPort })).toThrow(
      expect.objectContaining({ code: "invalid_argument" }),
    );
  });
});
