/**
 * What both nginx managers do, once: the apply sequence, the master's
 * lifecycle and status. A mode (managed.ts's prefix, system.ts's system
 * nginx) supplies an NginxTarget: where its files are, how `nginx -t` sees a
 * staged file, where the master's pid file and error log are, how a master
 * starts.
 *
 * apply() follows NGINX Agent's sequence, every step timed and reported:
 * stage (temp file + fsync + rename, hash read back) → validate (`nginx -t`
 * with the staged file in place of the live one; a failure never touches the
 * live file) → backup → swap (rename) → reload (SIGHUP) → confirm (a new
 * worker generation is up) → otherwise roll back: restore the backup, reload
 * again, ROLLED_BACK with nginx's own error text. No shell: spawn with
 * argument arrays.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DroverError, invalidField } from "../../errors/index.ts";
import { readTextIfExists, writeFileAtomic } from "../../files/index.ts";
import { type Logger, silentLogger } from "../../log/index.ts";
import type { NginxLayout, NginxRuntimePaths } from "../../nginx/index.ts";
import { STUB_STATUS_PATH } from "../../nginx/index.ts";
import { type Clock, systemClock } from "../../time/index.ts";
import { messageOf, type ValidationResult } from "./command.ts";
import { parseNginxErrors, parseStubStatus } from "./output.ts";
import {
  childPids,
  isAlive,
  isNginxMaster,
  processStartTime,
  readPidFile,
  retired,
} from "./process.ts";

export type { ValidationResult } from "./command.ts";

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

/** Options both managers take. */
export interface NginxManagerCommonOptions {
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

/** The files apply() works with. */
export interface NginxManagerPaths {
  /** The live file apply() replaces: the whole nginx.conf, or the system's drover.conf. */
  config: string;
  /** `{ version, sha256 }` of the last configuration applied with SUCCESS. */
  versionFile: string;
  /** New configurations are written and tested here before the swap. */
  stagingDir: string;
  staged: string;
  /** The configuration the last apply replaced; restored on rollback. */
  backup: string;
}

export interface NginxManager {
  readonly paths: NginxManagerPaths;
  /** Pass as compileNginxConfig's options.layout. */
  readonly layout: NginxLayout;
  /**
   * Pass as compileNginxConfig's options.runtime: managed mode's apply()
   * refuses a config with another pid path. Empty in system mode (the
   * include layout takes none).
   */
  readonly runtime: NginxRuntimePaths;
  /** Adopts the master named by the pid file, or starts one. */
  ensureRunning(): Promise<RunningNginx>;
  apply(confText: string, version: string): Promise<ApplyReport>;
  /** `nginx -t` with the text in place of the live file, from a throwaway copy; the live file is not touched. */
  validate(confText: string): Promise<ValidationResult>;
  /** Graceful: SIGHUP, then waits for the new worker generation. */
  reload(): Promise<CommandResult>;
  /** stop() then start. */
  restart(timeoutMs?: number): Promise<RunningNginx>;
  /** SIGQUIT, up to timeoutMs for in-flight requests, then SIGTERM (then SIGKILL). */
  stop(timeoutMs: number): Promise<StopResult>;
  status(): Promise<NginxStatus>;
}

/** Where the master's pid file and error log are (read afresh: a system nginx.conf may change). */
export interface MasterFiles {
  pidFile: string;
  /** A file nginx logs reload errors to; undefined when it logs elsewhere (stderr, syslog). */
  errorLog: string | undefined;
}

/** What a mode supplies to the shared manager. */
export interface NginxTarget {
  paths: NginxManagerPaths;
  /** Directories (of the agent's own) to create before staging or starting: 0755, or the mode given. */
  directories: readonly (string | { path: string; mode: number })[];
  /** Fields for log lines: which nginx this is. */
  describe: Readonly<Record<string, string>>;
  masterFiles(): Promise<MasterFiles>;
  /** `nginx -t` with `file` (holding `text`) standing in for the live file. */
  test(file: string, text: string): Promise<ValidationResult>;
  /** Arguments that start a daemonizing master; a DroverError when it cannot start now. */
  startArgs(): Promise<string[]>;
  /**
   * apply() with no master running starts one (managed), or only puts the
   * file in place for the next start (system: the agent starts a system
   * nginx only when ensureRunning or restart asks it to).
   */
  startOnApply: boolean;
}

export type NginxManagerOperations = Omit<NginxManager, "paths" | "layout" | "runtime">;

export function checkStatusPort(statusPort: unknown): void {
  if (!Number.isInteger(statusPort) || (statusPort as number) < 1 || (statusPort as number) > 65535)
    throw invalidField("statusPort", "must be a port number");
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A failure carrying nginx's own lines (internal: never leaves the managers). */
class NginxFailure extends Error {
  constructor(
    message: string,
    readonly errors: string[] = [],
  ) {
    super(message);
  }
}

export function createManagerCore(
  target: NginxTarget,
  options: NginxManagerCommonOptions,
  binary: () => Promise<string>,
): NginxManagerOperations {
  const { paths } = target;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const confirmTimeoutMs = options.confirmTimeoutMs ?? 10_000;

  // One operation at a time: an apply must not interleave with a reload or stop.
  let queue: Promise<unknown> = Promise.resolve();
  function serial<T>(work: () => Promise<T>): Promise<T> {
    const next = queue.then(work, work);
    queue = next.catch(() => {});
    return next;
  }

  async function ensureDirectories(): Promise<void> {
    for (const dir of target.directories) {
      if (typeof dir === "string") {
        await mkdir(dir, { recursive: true, mode: 0o755 });
        continue;
      }
      await mkdir(dir.path, { recursive: true, mode: dir.mode });
      // mkdir leaves an existing directory's mode alone, and the umask may narrow a new one's.
      await chmod(dir.path, dir.mode);
    }
  }

  /** The master named by the pid file, when it is alive and really nginx. */
  async function liveMaster(): Promise<number | undefined> {
    const pid = await readPidFile((await target.masterFiles()).pidFile);
    return pid !== undefined && (await isNginxMaster(pid)) ? pid : undefined;
  }

  async function logSize(log: string | undefined): Promise<number> {
    if (log === undefined) return 0;
    try {
      return (await stat(log)).size;
    } catch {
      return 0;
    }
  }

  /** Severe lines the error log gained since offset. */
  async function logErrorsSince(log: string | undefined, offset: number): Promise<string[]> {
    if (log === undefined) return [];
    try {
      const handle = await open(log, "r");
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

  /** Spawns a daemonizing master and waits for its pid file. */
  async function startMaster(): Promise<number> {
    await ensureDirectories();
    const bin = await binary();
    const args = await target.startArgs();
    const { pidFile, errorLog } = await target.masterFiles();
    const offset = await logSize(errorLog);
    const child = spawn(bin, args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
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
      const logged = errors.length > 0 ? errors : await logErrorsSince(errorLog, offset);
      throw new NginxFailure(`nginx exited with ${code}`, logged.length > 0 ? logged : [stderr]);
    }
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      const pid = await liveMaster();
      if (pid !== undefined) {
        logger.info("nginx started", { pid, ...target.describe });
        return pid;
      }
      if (Date.now() > deadline) {
        throw new NginxFailure(
          `no nginx master in ${pidFile} after ${startTimeoutMs} ms`,
          await logErrorsSince(errorLog, offset),
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
    log: string | undefined,
    offset: number,
  ): Promise<number[]> {
    const deadline = Date.now() + confirmTimeoutMs;
    let size = await logSize(log);
    let changedAt = Date.now();
    for (;;) {
      if (!(await isAlive(pid))) {
        throw new NginxFailure(`the nginx master ${pid} exited`, await logErrorsSince(log, offset));
      }
      const fresh = (await childPids(pid)).filter((worker) => !before.has(worker));
      if (fresh.length > 0 && (await retired(before))) return fresh;
      const now = await logSize(log);
      if (now !== size) {
        size = now;
        changedAt = Date.now();
      }
      if (fresh.length === 0 && Date.now() - changedAt > 750) {
        const errors = await logErrorsSince(log, offset);
        if (errors.length > 0) throw new NginxFailure("nginx refused the reload", errors);
      }
      if (Date.now() > deadline) {
        throw new NginxFailure(
          fresh.length === 0
            ? `no new nginx workers within ${confirmTimeoutMs} ms`
            : `the old nginx workers did not begin shutting down within ${confirmTimeoutMs} ms`,
          await logErrorsSince(log, offset),
        );
      }
      await delay(25);
    }
  }

  /** SIGHUP; `confirm` waits for the generation it brings up. */
  async function signalReload(pid: number): Promise<{ confirm: () => Promise<number[]> }> {
    const before = new Set(await childPids(pid));
    const { errorLog } = await target.masterFiles();
    const offset = await logSize(errorLog);
    process.kill(pid, "SIGHUP");
    return { confirm: () => waitForGeneration(pid, before, errorLog, offset) };
  }

  async function hangUp(pid: number): Promise<number[]> {
    return (await signalReload(pid)).confirm();
  }

  async function startNow(): Promise<RunningNginx> {
    const pid = await liveMaster();
    if (pid !== undefined) {
      logger.info("nginx adopted", { pid, ...target.describe });
      return { pid, started: false };
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
    const signal = (name: NodeJS.Signals, to = pid) => {
      try {
        process.kill(to, name);
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
    if (stopped) await rm((await target.masterFiles()).pidFile, { force: true });
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
      const result = await target.test(paths.staged, confText);
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
      await swapIn(paths.staged, paths.config, confText);
      return undefined;
    });
    if (!swapped) {
      await rm(paths.staged, { force: true });
      return finish("FAILED");
    }

    let workers: number[] = [];
    let live: boolean;
    let startedPid: number | undefined;
    if (master !== undefined) {
      let confirm: () => Promise<number[]> = async () => [];
      live =
        (await step("reload", async () => {
          confirm = (await signalReload(master)).confirm;
          return `SIGHUP to ${master}`;
        })) &&
        (await step("confirm", async () => {
          workers = await confirm();
          await options.hooks?.confirm?.({ version, pid: master, workers });
          return `workers ${workers.join(",")}`;
        }));
    } else if (target.startOnApply) {
      let offset = 0;
      let errorLog: string | undefined;
      live =
        (await step("start", async () => {
          errorLog = (await target.masterFiles()).errorLog;
          offset = await logSize(errorLog);
          startedPid = await startMaster();
          return `master ${startedPid}`;
        })) &&
        (await step("confirm", async () => {
          const pid = startedPid as number;
          workers = await waitForGeneration(pid, new Set(), errorLog, offset);
          await options.hooks?.confirm?.({ version, pid, workers });
          return `workers ${workers.join(",")}`;
        }));
    } else {
      live = await step(
        "reload",
        async () => "skipped: nginx is not running; it reads the file when it starts",
      );
    }
    if (live) {
      await writeFileAtomic(paths.versionFile, `${JSON.stringify({ version, sha256: hash })}\n`);
      return finish("SUCCESS");
    }

    const restored = await step("rollback", async () => {
      if (previous === undefined) await rm(paths.config, { force: true });
      else await writeFileAtomic(paths.config, previous, 0o644, { dirMode: 0o755 });
      const done =
        previous === undefined
          ? "removed the new configuration"
          : "restored the previous configuration";
      const running = await liveMaster();
      if (running === undefined) {
        if (previous === undefined || !target.startOnApply) return `${done}; nginx is not running`;
        return `${done}; master ${await startMaster()}`;
      }
      if (previous === undefined && running === startedPid) {
        // Nothing to go back to: a master this apply started must not keep the new config.
        await stopNow(5000);
        return `${done}; nginx stopped`;
      }
      // A master that was already running goes back to what it served (without the file, in system mode).
      return `${done}; workers ${(await hangUp(running)).join(",")}`;
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
        startedAt = (await stat((await target.masterFiles()).pidFile)).mtime;
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
    ensureRunning: () => serial(startNow),
    apply: (confText, version) => serial(() => applyNow(confText, version)),
    async validate(confText) {
      if (typeof confText !== "string" || confText === "")
        return { ok: false, errors: ["configuration: must be non-empty text"] };
      await ensureDirectories();
      const dir = await mkdtemp(join(paths.stagingDir, "validate-"));
      try {
        const file = join(dir, basename(paths.staged));
        await writeFileAtomic(file, confText, 0o644, { dirMode: 0o755 });
        return await target.test(file, confText);
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

/**
 * Puts the staged file live: a rename, which is atomic; where the live file
 * is on another file system (a system conf dir), an atomic write of the same
 * text beside it instead. Then fsyncs the directory so it survives a crash.
 */
async function swapIn(staged: string, live: string, text: string): Promise<void> {
  try {
    await rename(staged, live);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await writeFileAtomic(live, text, 0o644, { dirMode: 0o755 });
    await rm(staged, { force: true });
  }
  await syncDirectory(dirname(live));
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
