/**
 * The agent's nginx applier for `--nginx-mode managed`.
 *
 * nginx runs as its own daemonized master (`-p prefix -c prefix/conf/nginx.conf`)
 * and outlives the agent: a new manager on the same prefix adopts the master
 * named by the pid file instead of starting a second one.
 *
 * apply() follows NGINX Agent's sequence, every step timed and reported:
 * stage (temp file + fsync + rename, hash read back) → validate (`nginx -t`
 * on the staged file; a failure never touches the live config) → backup →
 * swap (rename) → reload (SIGHUP) → confirm (a new worker generation is up)
 * → otherwise roll back: restore the backup, reload again, ROLLED_BACK with
 * nginx's own error text. No shell: execFile/spawn with argument arrays.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { promisify } from "node:util";
import { DroverError, invalidField } from "../../errors/index.ts";
import { readTextIfExists, writeFileAtomic } from "../../files/index.ts";
import { type Logger, silentLogger } from "../../log/index.ts";
import type { NginxRuntimePaths } from "../../nginx/index.ts";
import { STUB_STATUS_PATH } from "../../nginx/index.ts";
import { type Clock, systemClock } from "../../time/index.ts";
import { parseNginxErrors, parseStubStatus, pidDirective } from "./output.ts";
import { type NginxPaths, nginxPaths, nginxRuntimePaths } from "./paths.ts";
import {
  childPids,
  isAlive,
  isNginxMaster,
  processStartTime,
  readPidFile,
  retired,
} from "./process.ts";

const run = promisify(execFile);

/** NxMesh's apply states, in the order a configuration passes them. */
export type ApplyPhase =
  | "PENDING"
  | "VALIDATING"
  | "APPLYING"
  | "SUCCESS"
  | "FAILED"
  | "ROLLED_BACK";
export type ApplyStatus = "SUCCESS" | "FAILED" | "ROLLED_BACK";

export interface ApplyStep {
  /** stage, validate, backup, swap, reload or start, confirm, rollback. */
  name: string;
  ok: boolean;
  ms: number;
  detail?: string;
}

export interface ApplyReport {
  version: string;
  status: ApplyStatus;
  steps: ApplyStep[];
  /** nginx's own `[emerg]`/`[alert]`/`[crit]` lines, or what failed. */
  errors: string[];
  durationMs: number;
}

export interface ValidationResult {
  ok: boolean;
  errors: string[];
}

export interface CommandResult {
  ok: boolean;
  pid?: number;
  errors: string[];
}

export interface RunningNginx {
  pid: number;
  /** This call started it; false when a running master was adopted. */
  started: boolean;
}

export interface StopResult {
  /** No master is running now. */
  stopped: boolean;
  /** The master that was stopped, if one was running. */
  pid?: number;
  /** The last signal it took: SIGQUIT (graceful), SIGTERM, SIGKILL. */
  signal?: "SIGQUIT" | "SIGTERM" | "SIGKILL";
}

export interface NginxStatus {
  running: boolean;
  pid?: number;
  startedAt?: string;
  uptimeSeconds?: number;
  workers: number[];
  activeConnections?: number;
  requestsTotal?: number;
  /** Requests between this call and the previous one over the time between them; null on the first. */
  requestsPerSecond?: number | null;
  /** The version of the last configuration applied with SUCCESS. */
  configVersion?: string;
  /** Why stub_status could not be read (the master is up but the endpoint is not). */
  statusError?: string;
}

export interface NginxManagerHooks {
  /**
   * Runs once the new worker generation is up; throwing fails the confirm
   * step as a failed reload would. For tests, and for callers that want a
   * health probe of their own before an apply counts.
   */
  confirm?: (context: { version: string; pid: number; workers: number[] }) => void | Promise<void>;
}

export interface NginxManagerOptions {
  /** Absolute directory nginx runs in, inside the agent data dir. */
  prefix: string;
  /** Default "nginx" (then /usr/sbin/nginx when PATH has none). */
  nginxBin?: string;
  /** The stub_status port the compiled configuration listens on (127.0.0.1). */
  statusPort: number;
  clock?: Clock;
  logger?: Logger;
  /** How long a started master has to write its pid file; default 10 s. */
  startTimeoutMs?: number;
  /** How long a reload has to bring up new workers; default 10 s. */
  confirmTimeoutMs?: number;
  /** Each apply's progress, PENDING → VALIDATING → APPLYING → SUCCESS | FAILED | ROLLED_BACK. */
  onPhase?: (version: string, phase: ApplyPhase) => void;
  hooks?: NginxManagerHooks;
}

export interface NginxManager {
  readonly paths: NginxPaths;
  /** Pass as compileNginxConfig's options.runtime: apply() refuses a config with another pid path. */
  readonly runtime: NginxRuntimePaths;
  /** Adopts the master named by the pid file, or starts one from the live config. */
  ensureRunning(): Promise<RunningNginx>;
  apply(confText: string, version: string): Promise<ApplyReport>;
  /** `nginx -t` on the text in a throwaway directory; the live config is not touched. */
  validate(confText: string): Promise<ValidationResult>;
  /** Graceful: SIGHUP, then waits for the new worker generation. */
  reload(): Promise<CommandResult>;
  /** stop() then start. */
  restart(timeoutMs?: number): Promise<RunningNginx>;
  /** SIGQUIT, up to timeoutMs for in-flight requests, then SIGTERM (then SIGKILL). */
  stop(timeoutMs: number): Promise<StopResult>;
  status(): Promise<NginxStatus>;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A failure carrying nginx's own lines (internal: never leaves this module). */
class NginxFailure extends Error {
  constructor(
    message: string,
    readonly errors: string[] = [],
  ) {
    super(message);
  }
}

export function createNginxManager(options: NginxManagerOptions): NginxManager {
  if (typeof options.prefix !== "string" || !isAbsolute(options.prefix))
    throw invalidField("prefix", "must be an absolute path");
  if (!Number.isInteger(options.statusPort) || options.statusPort < 1 || options.statusPort > 65535)
    throw invalidField("statusPort", "must be a port number");
  const paths = nginxPaths(options.prefix);
  const runtime = nginxRuntimePaths(options.prefix);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const confirmTimeoutMs = options.confirmTimeoutMs ?? 10_000;
  const prefixArg = `${options.prefix}/`;

  // One operation at a time: an apply must not interleave with a reload or stop.
  let queue: Promise<unknown> = Promise.resolve();
  function serial<T>(work: () => Promise<T>): Promise<T> {
    const next = queue.then(work, work);
    queue = next.catch(() => {});
    return next;
  }

  let binary: Promise<string> | undefined;
  function nginxBinary(): Promise<string> {
    binary ??= (async () => {
      const wanted = options.nginxBin ?? "nginx";
      try {
        await run(wanted, ["-v"], { timeout: 10_000 });
        return wanted;
      } catch (error) {
        const missing = (error as { code?: unknown }).code === "ENOENT";
        if (missing && options.nginxBin === undefined && existsSync("/usr/sbin/nginx"))
          return "/usr/sbin/nginx";
        binary = undefined;
        throw new DroverError("failed_precondition", `nginx binary ${wanted}: ${messageOf(error)}`);
      }
    })();
    return binary;
  }

  async function ensureDirectories(): Promise<void> {
    for (const dir of [dirname(paths.config), paths.stagingDir, dirname(paths.backup)])
      await mkdir(dir, { recursive: true, mode: 0o755 });
    await mkdir(dirname(paths.pidFile), { recursive: true, mode: 0o755 });
    await mkdir(paths.tempDir, { recursive: true, mode: 0o755 });
  }

  /** `nginx -t` of a file; errors are nginx's severe lines, else its whole output. */
  async function test(configPath: string, confText: string): Promise<ValidationResult> {
    const pid = pidDirective(confText);
    if (pid !== paths.pidFile) {
      return {
        ok: false,
        errors: [
          `the configuration must set "pid ${paths.pidFile};" (compile it with the manager's runtime paths)${pid === undefined ? "" : `, not ${pid}`}`,
        ],
      };
    }
    const bin = await nginxBinary();
    const testLog = join(dirname(configPath), "test-error.log");
    try {
      await run(bin, ["-t", "-q", "-p", prefixArg, "-c", configPath, "-e", testLog], {
        timeout: 60_000,
      });
      return { ok: true, errors: [] };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      const output = `${e.stdout ?? ""}${e.stderr ?? ""}`;
      const errors = parseNginxErrors(output);
      return {
        ok: false,
        errors: errors.length > 0 ? errors : [output.trim() || messageOf(error)],
      };
    }
  }

  async function liveMaster(): Promise<number | undefined> {
    const pid = await readPidFile(paths.pidFile);
    return pid !== undefined && (await isNginxMaster(pid)) ? pid : undefined;
  }

  async function logSize(): Promise<number> {
    try {
      return (await stat(paths.errorLog)).size;
    } catch {
      return 0;
    }
  }

  /** Severe lines the error log gained since offset. */
  async function logErrorsSince(offset: number): Promise<string[]> {
    try {
      const handle = await open(paths.errorLog, "r");
      try {
        const size = (await handle.stat()).size;
        if (size <= offset) return [];
        const buffer = Buffer.alloc(Math.min(size - offset, 64 * 1024));
        await handle.read(buffer, 0, buffer.length, offset);
        return parseNginxErrors(buffer.toString("utf8"));
      } finally {
        await handle.close();
      }
    } catch {
      return [];
    }
  }

  /** Spawns a daemonizing master from the live config and waits for its pid file. */
  async function startMaster(): Promise<number> {
    await ensureDirectories();
    const bin = await nginxBinary();
    const offset = await logSize();
    const child = spawn(bin, ["-p", prefixArg, "-c", paths.config, "-e", paths.errorLog], {
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      if (stderr.length < 64 * 1024) stderr += chunk;
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (exitCode) => resolve(exitCode));
    });
    child.stderr?.destroy();
    child.unref();
    if (code !== 0) {
      const errors = parseNginxErrors(stderr);
      const logged = errors.length > 0 ? errors : await logErrorsSince(offset);
      throw new NginxFailure(`nginx exited with ${code}`, logged.length > 0 ? logged : [stderr]);
    }
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const pid = await liveMaster();
      if (pid !== undefined) {
        logger.info("nginx started", { pid, prefix: options.prefix });
        return pid;
      }
      if (Date.now() > deadline) {
        throw new NginxFailure(
          `no nginx master in ${paths.pidFile} after ${startTimeoutMs} ms`,
          await logErrorsSince(offset),
        );
      }
      await delay(25);
    }
  }

  /**
   * Waits until the master has workers that were not in `before` (the
   * generation a reload forks once the new configuration is loaded) and every
   * worker of `before` is gone or shutting down (its title says so once it
   * has closed its listening sockets), so the next connection meets the new
   * configuration. A reload nginx refuses leaves the old workers alone and
   * logs `[emerg]`: once the log has been quiet for a moment (nginx retries a
   * failed bind() every 500 ms), the wait ends early.
   */
  async function waitForGeneration(
    pid: number,
    before: ReadonlySet<number>,
    offset: number,
  ): Promise<number[]> {
    const deadline = Date.now() + confirmTimeoutMs;
    let size = await logSize();
    let changedAt = Date.now();
    for (;;) {
      if (!(await isAlive(pid))) {
        throw new NginxFailure(`the nginx master ${pid} exited`, await logErrorsSince(offset));
      }
      const fresh = (await childPids(pid)).filter((worker) => !before.has(worker));
      if (fresh.length > 0 && (await retired(before))) return fresh;
      const now = await logSize();
      if (now !== size) {
        size = now;
        changedAt = Date.now();
      }
      if (fresh.length === 0 && Date.now() - changedAt > 750) {
        const errors = await logErrorsSince(offset);
        if (errors.length > 0) throw new NginxFailure("nginx refused the reload", errors);
      }
      if (Date.now() > deadline) {
        throw new NginxFailure(
          fresh.length === 0
            ? `no new nginx workers within ${confirmTimeoutMs} ms`
            : `the old nginx workers did not begin shutting down within ${confirmTimeoutMs} ms`,
          await logErrorsSince(offset),
        );
      }
      await delay(25);
    }
  }

  /** SIGHUP and the wait for the new generation. */
  async function hangUp(pid: number): Promise<number[]> {
    const before = new Set(await childPids(pid));
    const offset = await logSize();
    process.kill(pid, "SIGHUP");
    return waitForGeneration(pid, before, offset);
  }

  async function startNow(): Promise<RunningNginx> {
    const pid = await liveMaster();
    if (pid !== undefined) {
      logger.info("nginx adopted", { pid, prefix: options.prefix });
      return { pid, started: false };
    }
    if (!existsSync(paths.config)) {
      throw new DroverError("failed_precondition", "no nginx configuration has been applied yet");
    }
    try {
      return { pid: await startMaster(), started: true };
    } catch (error) {
      if (!(error instanceof NginxFailure)) throw error;
      throw new DroverError(
        "unavailable",
        `nginx did not start: ${[error.message, ...error.errors].join("; ")}`,
        { cause: error },
      );
    }
  }

  async function stopNow(timeoutMs: number): Promise<StopResult> {
    const pid = await liveMaster();
    if (pid === undefined) return { stopped: true };
    const workers = await childPids(pid);
    const gone = async (ms: number) => {
      const deadline = Date.now() + ms;
      for (;;) {
        if (!(await isAlive(pid))) return true;
        if (Date.now() > deadline) return false;
        await delay(25);
      }
    };
    const signal = (name: NodeJS.Signals, target = pid) => {
      try {
        process.kill(target, name);
      } catch {
        // Already gone.
      }
    };
    signal("SIGQUIT");
    if (await gone(timeoutMs)) return { stopped: true, pid, signal: "SIGQUIT" };
    signal("SIGTERM");
    if (await gone(Math.max(timeoutMs, 1000))) return { stopped: true, pid, signal: "SIGTERM" };
    logger.warn("nginx ignored SIGQUIT and SIGTERM; killing it", { pid });
    signal("SIGKILL");
    for (const worker of workers) signal("SIGKILL", worker);
    const stopped = await gone(2000);
    if (stopped) await rm(paths.pidFile, { force: true });
    return { stopped, pid, signal: "SIGKILL" };
  }

  async function applyNow(confText: string, version: string): Promise<ApplyReport> {
    const began = performance.now();
    const steps: ApplyStep[] = [];
    const errors: string[] = [];
    const phase = (value: ApplyPhase) => {
      try {
        options.onPhase?.(version, value);
      } catch (error) {
        logger.warn("nginx onPhase callback threw", { error: messageOf(error) });
      }
    };
    const finish = (status: ApplyStatus): ApplyReport => {
      phase(status);
      const report = { version, status, steps, errors, durationMs: performance.now() - began };
      (status === "SUCCESS" ? logger.info : logger.warn)("nginx apply", {
        version,
        status,
        errors,
      });
      return report;
    };
    /** Runs one step; a throw records it failed and adds nginx's lines (or the message) to errors. */
    async function step(name: string, work: () => Promise<string | undefined>): Promise<boolean> {
      const at = performance.now();
      try {
        const detail = await work();
        steps.push({ name, ok: true, ms: performance.now() - at, ...(detail ? { detail } : {}) });
        return true;
      } catch (error) {
        const detail = messageOf(error);
        steps.push({ name, ok: false, ms: performance.now() - at, detail });
        const lines = error instanceof NginxFailure ? error.errors.filter((e) => e !== "") : [];
        for (const line of lines.length > 0 ? lines : [detail])
          if (!errors.includes(line)) errors.push(line);
        return false;
      }
    }

    phase("PENDING");
    if (typeof version !== "string" || version === "") {
      errors.push("version: must be a non-empty string");
      return finish("FAILED");
    }
    if (typeof confText !== "string" || confText === "") {
      errors.push("configuration: must be non-empty text");
      return finish("FAILED");
    }
    phase("VALIDATING");
    const hash = sha256(confText);
    const staged = await step("stage", async () => {
      await ensureDirectories();
      await writeFileAtomic(paths.staged, confText, 0o644, { dirMode: 0o755 });
      const back = sha256(await readFile(paths.staged, "utf8"));
      if (back !== hash) throw new Error(`staged file hash ${back} is not ${hash}`);
      return `sha256 ${hash}`;
    });
    if (!staged) return finish("FAILED");
    const valid = await step("validate", async () => {
      const result = await test(paths.staged, confText);
      if (!result.ok) throw new NginxFailure("nginx -t failed", result.errors);
      return "nginx -t passed";
    });
    if (!valid) {
      await rm(paths.staged, { force: true });
      return finish("FAILED");
    }

    phase("APPLYING");
    const master = await liveMaster();
    let previous: string | undefined;
    const backedUp = await step("backup", async () => {
      previous = await readTextIfExists(paths.config);
      if (previous === undefined) return "no previous configuration";
      await writeFileAtomic(paths.backup, previous, 0o644, { dirMode: 0o755 });
      return `sha256 ${sha256(previous)}`;
    });
    if (!backedUp) {
      await rm(paths.staged, { force: true });
      return finish("FAILED");
    }
    const swapped = await step("swap", async () => {
      await rename(paths.staged, paths.config);
      await syncDirectory(dirname(paths.config));
      return undefined;
    });
    if (!swapped) {
      await rm(paths.staged, { force: true });
      return finish("FAILED");
    }

    let pid = master;
    let workers: number[] = [];
    let live: boolean;
    if (master !== undefined) {
      let offset = 0;
      let before = new Set<number>();
      live =
        (await step("reload", async () => {
          before = new Set(await childPids(master));
          offset = await logSize();
          process.kill(master, "SIGHUP");
          return `SIGHUP to ${master}`;
        })) &&
        (await step("confirm", async () => {
          workers = await waitForGeneration(master, before, offset);
          await options.hooks?.confirm?.({ version, pid: master, workers });
          return `workers ${workers.join(",")}`;
        }));
    } else {
      let offset = 0;
      live =
        (await step("start", async () => {
          offset = await logSize();
          pid = await startMaster();
          return `master ${pid}`;
        })) &&
        (await step("confirm", async () => {
          const started = pid as number;
          workers = await waitForGeneration(started, new Set(), offset);
          await options.hooks?.confirm?.({ version, pid: started, workers });
          return `workers ${workers.join(",")}`;
        }));
    }
    if (live) {
      await writeFileAtomic(paths.versionFile, `${JSON.stringify({ version, sha256: hash })}\n`);
      return finish("SUCCESS");
    }

    const restored = await step("rollback", async () => {
      if (previous === undefined) await rm(paths.config, { force: true });
      else await writeFileAtomic(paths.config, previous, 0o644, { dirMode: 0o755 });
      const running = await liveMaster();
      if (previous === undefined) {
        // Nothing to go back to: a master this apply started must not keep the new config.
        if (running !== undefined && master === undefined) await stopNow(5000);
        return "removed the new configuration; nginx stopped";
      }
      if (running !== undefined) {
        const fresh = await hangUp(running);
        return `restored the previous configuration; workers ${fresh.join(",")}`;
      }
      const started = await startMaster();
      return `restored the previous configuration; master ${started}`;
    });
    return finish(restored ? "ROLLED_BACK" : "FAILED");
  }

  let lastSample: { requests: number; at: number } | undefined;

  async function statusNow(): Promise<NginxStatus> {
    const recorded = await readTextIfExists(paths.versionFile);
    let configVersion: string | undefined;
    try {
      if (recorded !== undefined) configVersion = JSON.parse(recorded).version;
    } catch {
      configVersion = undefined;
    }
    const pid = await liveMaster();
    if (pid === undefined) {
      lastSample = undefined;
      return { running: false, workers: [], ...(configVersion ? { configVersion } : {}) };
    }
    const now = clock.now();
    let startedAt = await processStartTime(pid);
    if (startedAt === undefined) {
      try {
        startedAt = (await stat(paths.pidFile)).mtime;
      } catch {
        startedAt = undefined;
      }
    }
    const status: NginxStatus = { running: true, pid, workers: await childPids(pid) };
    if (configVersion) status.configVersion = configVersion;
    if (startedAt !== undefined) {
      status.startedAt = startedAt.toISOString();
      status.uptimeSeconds = Math.max(0, Math.floor((now.getTime() - startedAt.getTime()) / 1000));
    }
    try {
      const response = await fetch(`http://127.0.0.1:${options.statusPort}${STUB_STATUS_PATH}`, {
        signal: AbortSignal.timeout(2000),
      });
      const text = await response.text();
      const stub = response.ok ? parseStubStatus(text) : undefined;
      if (stub === undefined) throw new Error(`stub_status answered ${response.status}`);
      status.activeConnections = stub.activeConnections;
      status.requestsTotal = stub.requests;
      const at = now.getTime();
      const previous = lastSample;
      status.requestsPerSecond =
        previous !== undefined && at > previous.at && stub.requests >= previous.requests
          ? ((stub.requests - previous.requests) * 1000) / (at - previous.at)
          : null;
      lastSample = { requests: stub.requests, at };
    } catch (error) {
      status.statusError = messageOf(error);
    }
    return status;
  }

  return {
    paths,
    runtime,
    ensureRunning: () => serial(startNow),
    apply: (confText, version) => serial(() => applyNow(confText, version)),
    async validate(confText) {
      if (typeof confText !== "string" || confText === "")
        return { ok: false, errors: ["configuration: must be non-empty text"] };
      await ensureDirectories();
      const dir = await mkdtemp(join(paths.stagingDir, "validate-"));
      try {
        const file = join(dir, "nginx.conf");
        await writeFileAtomic(file, confText, 0o644, { dirMode: 0o755 });
        return await test(file, confText);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    reload: () =>
      serial(async () => {
        const pid = await liveMaster();
        if (pid === undefined) return { ok: false, errors: ["nginx is not running"] };
        try {
          await hangUp(pid);
          return { ok: true, pid, errors: [] };
        } catch (error) {
          const lines = error instanceof NginxFailure ? error.errors : [];
          return { ok: false, pid, errors: lines.length > 0 ? lines : [messageOf(error)] };
        }
      }),
    restart: (timeoutMs = 10_000) =>
      serial(async () => {
        const stopped = await stopNow(timeoutMs);
        if (!stopped.stopped) {
          throw new DroverError("unavailable", `nginx master ${stopped.pid} did not stop`);
        }
        return startNow();
      }),
    stop: (timeoutMs) => serial(() => stopNow(timeoutMs)),
    status: () => serial(statusNow),
  };
}

/** fsync a directory so a rename in it survives a crash. */
async function syncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
