/**
 * End-to-end harness: runs the compiled `dist/drover` binary as real child
 * processes on loopback, in a temp dir, and cleans every one of them up.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { managedNginxTempDir } from "../../lib/agent/nginx/index.ts";
import { sleep, waitFor as waitUntil } from "../support/loopback.ts";

export { sleep };

export const repoRoot = resolve(import.meta.dir, "..", "..");
/** DROVER_E2E_BINARY runs the tests against another build (a private one while developing). */
export const binary = process.env.DROVER_E2E_BINARY ?? join(repoRoot, "dist", "drover");

/** How long any single wait may take before the test fails with a description. */
export const defaultDeadlineMs = 15_000;
const pollIntervalMs = 150;
const killGraceMs = 3_000;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Endpoints {
  registration: string;
  agent: string;
  operator: string;
  http: string;
}

/** One row of `drover agents list --json`. */
export interface AgentJson {
  id: string;
  name: string;
  hostname: string;
  ip: string;
  version: string;
  labels: Record<string, string>;
  /** What the agent claimed with --label: shown apart, matched by no selector. */
  claimed_labels: Record<string, string>;
  capabilities: string[];
  state: string;
  last_seen_at: string | null;
  created_at: string | null;
}

/** A long-running child (server or agent) whose output is captured as it comes. */
export interface RunningProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Exit code once exited; undefined while running. null code means it died of a signal. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ServerProcess extends RunningProcess {
  endpoints: Endpoints;
  /** The fleet id the server printed on stdout. */
  fleetId: string;
}

/**
 * Polls `check` every ~150 ms until it returns something other than
 * undefined/false, or fails after the deadline saying what it waited for.
 * A check that throws is tried again (a child may not be ready to answer);
 * the last error is in the timeout's message.
 */
export function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  deadlineMs = defaultDeadlineMs,
): Promise<T> {
  return waitUntil(what, check, {
    timeoutMs: deadlineMs,
    intervalMs: pollIntervalMs,
    retryErrors: true,
  });
}

/** The environment children get: ours, minus any DROVER_* that would change their flags. */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith("DROVER_")) env[key] = value;
  }
  return { ...env, ...extra };
}

function requireBinary(): void {
  if (!existsSync(binary)) {
    throw new Error(
      `${binary} is missing: build the binary first with \`npm run build:bin\` ` +
        "(or `npx bun build --compile appliance/main.ts --outfile dist/drover`)",
    );
  }
}

/** Every child any harness started, so even a crashed test run leaves none behind. */
const everyChild = new Set<ChildProcess>();
/** Children started as process-group leaders (shell scripts): signals go to the whole group. */
const groupLeaders = new WeakSet<ChildProcess>();
function signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
  if (groupLeaders.has(child) && child.pid !== undefined) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  } else child.kill(signal);
}
process.on("exit", () => {
  for (const child of everyChild) {
    if (child.exitCode === null && child.signalCode === null) signalChild(child, "SIGKILL");
  }
});

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  signalChild(child, "SIGTERM");
  const graceful = await Promise.race([
    exited.then(() => true),
    sleep(killGraceMs).then(() => false),
  ]);
  if (!graceful && isRunning(child)) {
    signalChild(child, "SIGKILL");
    await exited;
  }
}

function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string>; group?: boolean; stdin?: boolean },
): RunningProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    detached: options.group ?? false,
  });
  everyChild.add(child);
  if (options.group) groupLeaders.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  let result: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    // "close" waits for the output pipes too, so stdout/stderr are complete.
    child.once("close", (code, signal) => {
      result = { code, signal };
      everyChild.delete(child);
      done(result);
    });
    child.once("error", (error) => {
      stderr += `spawn error: ${error.message}\n`;
      result = { code: null, signal: null };
      everyChild.delete(child);
      done(result);
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${command}`);
  return {
    name,
    child,
    pid: child.pid,
    stdout: () => stdout,
    stderr: () => stderr,
    exit: () => result,
    exited,
  };
}

export interface AgentStartOptions {
  /** Agent data dir; relative names live in the harness temp dir. */
  dataDir: string;
  server?: string;
  token?: string;
  labels?: string[];
  name?: string;
  /** Further flags, appended as given (e.g. --nginx-mode managed). */
  extraArgs?: string[];
  /** Added to the agent's environment (e.g. PATH with simulated tools first). */
  env?: Record<string, string>;
  /** Another drover to run instead of `binary`, with leading words (e.g. qemu and its flags). */
  program?: string[];
}

/** The flags of `drover agent` for these options, in a fixed order. */
function agentArgs(harness: Harness, options: AgentStartOptions): string[] {
  const args = ["agent", "--data-dir", harness.path(options.dataDir)];
  if (options.server !== undefined) args.push("--server", options.server);
  if (options.token !== undefined) args.push("--token", options.token);
  if (options.name !== undefined) args.push("--name", options.name);
  for (const label of options.labels ?? []) args.push("--label", label);
  args.push(...(options.extraArgs ?? []));
  return args;
}

export class Harness {
  /** The temp dir everything of this harness lives in. */
  readonly root: string;
  /** The server data dir (D). */
  readonly dataDir: string;
  private readonly processes: RunningProcess[] = [];
  server: ServerProcess | undefined;

  private constructor(root: string) {
    this.root = root;
    this.dataDir = join(root, "server");
  }

  static async create(name: string): Promise<Harness> {
    requireBinary();
    const root = await mkdtemp(join(tmpdir(), `drover-${name}-`));
    return new Harness(root);
  }

  /** A path inside the temp dir (absolute paths pass through). */
  path(relative: string): string {
    return resolve(this.root, relative);
  }

  /**
   * Starts `drover server` on loopback. Without `ports` every listener picks a
   * free port; with them (e.g. from a previous run) it binds those exactly.
   * Resolves once a fresh endpoints.json has been written.
   */
  async startServer(
    ports?: Endpoints,
    launch: {
      cwd?: string;
      dataDirFlag?: string;
      program?: string;
      env?: Record<string, string>;
      /** Further flags of `drover server` (e.g. --exporter-offline-grace 3s). */
      extraArgs?: string[];
    } = {},
  ): Promise<ServerProcess> {
    const endpointsPath = join(this.dataDir, "endpoints.json");
    // Written at every start: remove the old one so we wait for this start's.
    await rm(endpointsPath, { force: true });
    const startedAt = Date.now();
    const proc = startProcess(
      "server",
      launch.program ?? binary,
      [
        "server",
        "--data-dir",
        launch.dataDirFlag ?? this.dataDir,
        "--registration-addr",
        ports?.registration ?? "127.0.0.1:0",
        "--agent-addr",
        ports?.agent ?? "127.0.0.1:0",
        "--operator-addr",
        ports?.operator ?? "127.0.0.1:0",
        "--http-addr",
        ports?.http ?? "127.0.0.1:0",
        "--heartbeat-interval",
        "1s",
        ...(launch.extraArgs ?? []),
      ],
      { cwd: launch.cwd ?? this.root, ...(launch.env === undefined ? {} : { env: launch.env }) },
    );
    this.processes.push(proc);
    const endpoints = await waitFor("the server to write endpoints.json", async () => {
      const exit = proc.exit();
      if (exit) {
        throw new Error(
          `server exited (code ${exit.code}, signal ${exit.signal}) before it was ready:\n${proc.stderr()}`,
        );
      }
      if (!existsSync(endpointsPath)) return undefined;
      // Fresh: written by this start, not left over (mtime has 1 s granularity on some file systems).
      if (statSync(endpointsPath).mtimeMs < startedAt - 1000) return undefined;
      return JSON.parse(await readFile(endpointsPath, "utf8")) as Endpoints;
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}\nserver stderr:\n${proc.stderr()}`);
    });
    // The stdout banner is printed right after endpoints.json is written.
    const fleetId = await waitFor("the server banner on stdout", () => {
      return /\(fleet ([a-z0-9-]+), data dir /.exec(proc.stdout())?.[1];
    });
    const server: ServerProcess = { ...proc, endpoints, fleetId };
    this.server = server;
    return server;
  }

  /** The running server, or a clear failure. */
  requireServer(): ServerProcess {
    if (!this.server) throw new Error("no server started in this harness");
    return this.server;
  }

  /** Starts `drover agent` as a long-running child. */
  startAgent(options: AgentStartOptions): RunningProcess {
    const [command, ...leading] = options.program ?? [binary];
    const args = [...leading, ...agentArgs(this, options)];
    const proc = startProcess(`agent ${options.dataDir}`, command ?? binary, args, {
      cwd: this.root,
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    this.processes.push(proc);
    return proc;
  }

  /**
   * Runs a shell script as a long-running child in its own process group, so
   * stopping it stops every program it started. `prefix` wraps bash (e.g.
   * `ip netns exec NS`).
   */
  startShell(
    name: string,
    script: string,
    options: { cwd: string; env?: Record<string, string>; prefix?: string[] },
  ): RunningProcess {
    const [command, ...args] = [...(options.prefix ?? []), "bash", "-c", script];
    const proc = startProcess(name, command ?? "bash", args, {
      cwd: options.cwd,
      group: true,
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    this.processes.push(proc);
    return proc;
  }

  /**
   * Starts a long-running `drover …` command (lease forward, lease console);
   * `stdin` pipes its input; `program` runs another program instead (e.g. `script`, for a terminal).
   */
  start(
    name: string,
    args: string[],
    options: { stdin?: boolean; program?: string } = {},
  ): RunningProcess {
    const proc = startProcess(name, options.program ?? binary, args, {
      cwd: this.root,
      stdin: options.stdin ?? false,
    });
    this.processes.push(proc);
    return proc;
  }

  /** Runs `drover agent` expecting it to stop by itself (e.g. refused); killed at the deadline. */
  runAgent(options: AgentStartOptions, deadlineMs = defaultDeadlineMs): Promise<CliResult> {
    return this.run(agentArgs(this, options), { deadlineMs });
  }

  /**
   * Runs one `drover …` command to completion. It gets the harness temp dir as
   * cwd and a DROVER_*-free environment plus `env`. Killed at the deadline.
   */
  async run(
    args: string[],
    options: { env?: Record<string, string>; deadlineMs?: number; program?: string } = {},
  ): Promise<CliResult> {
    return this.exec(options.program ?? binary, args, options);
  }

  /** Runs any program (openssl, curl) the same way as `run`; `cwd` defaults to the temp dir. */
  async exec(
    command: string,
    args: string[],
    options: { env?: Record<string, string>; deadlineMs?: number; cwd?: string } = {},
  ): Promise<CliResult> {
    const proc = startProcess(command, command, args, {
      cwd: options.cwd ?? this.root,
      env: options.env,
    });
    this.processes.push(proc);
    const deadlineMs = options.deadlineMs ?? defaultDeadlineMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((done) => {
      timer = setTimeout(() => done("timeout"), deadlineMs);
    });
    const outcome = await Promise.race([proc.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      await stopChild(proc.child);
      throw new Error(
        `${command} ${args.join(" ")} did not finish within ${deadlineMs} ms\n` +
          `stdout:\n${proc.stdout()}\nstderr:\n${proc.stderr()}`,
      );
    }
    return {
      code: outcome.code,
      signal: outcome.signal,
      stdout: proc.stdout(),
      stderr: proc.stderr(),
    };
  }

  /** Runs a command and fails, showing its output, unless it exits 0. */
  async runOk(
    args: string[],
    options: { env?: Record<string, string>; program?: string } = {},
  ): Promise<CliResult> {
    const result = await this.run(args, options);
    if (result.code !== 0) {
      throw new Error(
        `drover ${args.join(" ")} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
      );
    }
    return result;
  }

  /**
   * REST through curl, an independent client, as the server's first admin
   * (its client certificate in the server data dir): the status, and the
   * JSON body ({} when empty).
   */
  async adminCurl(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const result = await this.exec("curl", [
      "-sS",
      "-X",
      method,
      "--cacert",
      this.path("server/ca.pem"),
      "--cert",
      this.path("server/admin.pem"),
      "--key",
      this.path("server/admin.key"),
      ...(body === undefined
        ? []
        : ["-H", "content-type: application/json", "--data", JSON.stringify(body)]),
      "-w",
      "\n%{http_code}",
      `https://${this.requireServer().endpoints.http}/v1${path}`,
    ]);
    const lines = result.stdout.trimEnd().split("\n");
    const status = Number(lines.pop());
    const text = lines.join("\n");
    return { status, body: text === "" ? {} : JSON.parse(text) };
  }

  /** `drover token create` → the token (`program`: another drover, e.g. an earlier build). */
  async createToken(
    role: "agent" | "operator",
    extra: string[] = [],
    program: string = binary,
  ): Promise<string> {
    const result = await this.runOk(
      ["token", "create", "--data-dir", this.dataDir, "--role", role, ...extra],
      { program },
    );
    return result.stdout.trim();
  }

  /** `drover agents list --json` → the rows. */
  async listAgents(extra: string[] = []): Promise<AgentJson[]> {
    const result = await this.runOk([
      "agents",
      "list",
      "--data-dir",
      this.dataDir,
      "--json",
      ...extra,
    ]);
    return JSON.parse(result.stdout) as AgentJson[];
  }

  /** Polls `agents list --json` until the agent is in `state`; returns its row. */
  waitForAgentState(id: string, state: string, deadlineMs = defaultDeadlineMs): Promise<AgentJson> {
    return this.waitForAgent(id, state, (agent) => agent.state === state, deadlineMs);
  }

  /** Polls `agents list --json` until the agent's row satisfies `condition`; returns it. */
  waitForAgent(
    id: string,
    what: string,
    condition: (agent: AgentJson) => boolean,
    deadlineMs = defaultDeadlineMs,
  ): Promise<AgentJson> {
    return waitFor(
      `agent ${id} to be ${what}`,
      async () => (await this.listAgents()).find((agent) => agent.id === id && condition(agent)),
      deadlineMs,
    );
  }

  /** The id an agent saved in its data dir once it joined. */
  async agentIdOf(agentDataDir: string, deadlineMs = defaultDeadlineMs): Promise<string> {
    const record = this.path(join(agentDataDir, "agent.json"));
    return waitFor(
      `${record} to be written`,
      async () => {
        if (!existsSync(record)) return undefined;
        const parsed = JSON.parse(await readFile(record, "utf8")) as { id?: unknown };
        return typeof parsed.id === "string" ? parsed.id : undefined;
      },
      deadlineMs,
    );
  }

  /** Stops one child: SIGTERM, then SIGKILL after 3 s. Returns how it exited. */
  async stop(
    proc: RunningProcess,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    await stopChild(proc.child);
    return proc.exited;
  }

  /** Stops every child this harness started and removes the temp dir. */
  async cleanup(): Promise<void> {
    // Agents and commands first, so agents do not retry against a dying server.
    const isServer = (proc: RunningProcess) => proc.name === "server";
    await Promise.all(this.processes.filter((p) => !isServer(p)).map((p) => stopChild(p.child)));
    await Promise.all(this.processes.filter(isServer).map((p) => stopChild(p.child)));
    if (process.env.DROVER_E2E_KEEP) {
      console.error(`kept ${this.root}`);
      return;
    }
    await removeNginxTempDirs(this.root);
    await rm(this.root, { recursive: true, force: true });
  }
}

/**
 * A root agent's managed nginx keeps its temp files outside the data dir
 * (/var/cache/drover/nginx-<hash of the prefix>): remove those of every agent
 * data dir under `root`, wherever a test's commands put them.
 */
async function removeNginxTempDirs(root: string): Promise<void> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  const prefixes = entries
    .filter((entry) => entry.isDirectory() && entry.name === "nginx")
    .map((entry) => join(entry.parentPath, entry.name));
  for (const prefix of prefixes) {
    const tempDir = managedNginxTempDir(prefix, process.getuid?.());
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
  }
}
