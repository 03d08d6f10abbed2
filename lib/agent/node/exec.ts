/**
 * ExecuteCommand on the agent: runs one command the agent's own config
 * declares, with extra arguments checked against its pattern before anything
 * starts. No shell; the child gets a minimal environment (the agent's own may
 * hold its join token) and its own process group, so a timeout or a cancel
 * kills everything it started, not just the first process.
 */
import { Buffer } from "node:buffer";
import { type ChildProcess, spawn } from "node:child_process";
import { DroverError, invalidField } from "../../errors/index.ts";
import type { CommandResult, DeclaredCommand } from "../../node/types.ts";
import { compileArgPattern } from "./config.ts";

/** What a child sees instead of the agent's environment. */
export const minimalEnvironment: Readonly<Record<string, string>> = Object.freeze({
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  LANG: "C.UTF-8",
  HOME: "/",
});

/** SIGTERM first; what is still there after this gets SIGKILL. */
const killGraceMs = 2000;
/** After the last signal (or after the program exited), how long its pipes may stay open. */
const pipeGraceMs = 1000;
const maxArgLength = 4096;

/** Signals a whole process group; one that is already gone is not an error. */
export function signalProcessGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ESRCH") throw error;
  }
}

/** Refuses extra arguments the declaration does not allow, naming the first bad one. */
export function checkCommandArgs(command: DeclaredCommand, args: readonly string[]): void {
  if (args.length > command.maxArgs) {
    throw invalidField(
      "args",
      command.maxArgs === 0
        ? "this command takes no extra arguments"
        : `at most ${command.maxArgs} extra arguments are allowed`,
    );
  }
  if (args.length === 0) return;
  const pattern = compileArgPattern(command.argPattern ?? "(?!)");
  args.forEach((arg, index) => {
    const field = `args[${index}]`;
    if (typeof arg !== "string" || arg.length > maxArgLength || arg.includes("\0")) {
      throw invalidField(
        field,
        `must be a string of at most ${maxArgLength} characters without NUL`,
      );
    }
    if (!pattern.test(arg))
      throw invalidField(field, "does not match the command's argument pattern");
  });
}

function effectiveTimeout(command: DeclaredCommand, requested: number | undefined): number {
  if (requested === undefined) return command.timeoutMs;
  if (!Number.isFinite(requested) || requested <= 0) {
    throw invalidField("timeoutMs", "must be a positive number of milliseconds");
  }
  // The declaration is the ceiling: a caller may shorten a run, never lengthen it.
  return Math.min(requested, command.timeoutMs);
}

/** Keeps the first `cap` bytes of a stream and counts the rest (still draining it). */
function createCapture(cap: number) {
  const chunks: Buffer[] = [];
  let kept = 0;
  let truncated = false;
  return {
    add(chunk: Buffer) {
      const room = cap - kept;
      if (chunk.length > room) truncated = true;
      if (room <= 0) return;
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      chunks.push(piece);
      kept += piece.length;
    },
    text: () => Buffer.concat(chunks).toString("utf8"),
    get truncated() {
      return truncated;
    },
  };
}

export interface RunOptions {
  /** Shorter than the declared timeout only; a longer one is clamped down. */
  timeoutMs?: number;
  /** Aborting kills the process group, like a timeout. */
  signal?: AbortSignal;
  /** The child's whole environment; default minimalEnvironment. */
  env?: Record<string, string>;
  /** Sees output as it arrives (an exporter's hook streams it to LogStream); the result still holds the capped whole. */
  onOutput?: (stream: "stdout" | "stderr", chunk: Buffer) => void;
}

/**
 * Runs a declared command with extra arguments. Argument problems throw
 * `invalid_argument` before anything runs; everything after that (a missing
 * program, a timeout, a crash) is reported in the result, never thrown.
 */
export async function runDeclaredCommand(
  command: DeclaredCommand,
  args: readonly string[],
  options: RunOptions = {},
): Promise<CommandResult> {
  checkCommandArgs(command, args);
  const timeoutMs = effectiveTimeout(command, options.timeoutMs);
  if (options.signal?.aborted) {
    throw new DroverError("unavailable", "the call was cancelled before the command started");
  }
  const [program, ...fixed] = command.argv as [string, ...string[]];
  const started = performance.now();
  let child: ChildProcess;
  try {
    child = spawn(program, [...fixed, ...args], {
      shell: false,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: options.env ?? { ...minimalEnvironment },
      cwd: "/",
    });
  } catch (error) {
    return spawnFailure(program, error, started);
  }
  return await supervise(
    child,
    program,
    command.maxOutputBytes,
    timeoutMs,
    started,
    options.signal,
    options.onOutput,
  );
}

function spawnFailure(program: string, error: unknown, started: number): CommandResult {
  const code = (error as { code?: unknown }).code;
  const reason = code === "ENOENT" ? "no such program" : String(code ?? error);
  return {
    // The shell's conventions: 127 not found, 126 found but not runnable.
    exitCode: code === "ENOENT" ? 127 : 126,
    stdout: "",
    stderr: `drover: cannot run ${program}: ${reason}\n`,
    timedOut: false,
    stdoutTruncated: false,
    stderrTruncated: false,
    durationMs: Math.round(performance.now() - started),
  };
}

function supervise(
  child: ChildProcess,
  program: string,
  cap: number,
  timeoutMs: number,
  started: number,
  signal: AbortSignal | undefined,
  onOutput: RunOptions["onOutput"],
): Promise<CommandResult> {
  const stdout = createCapture(cap);
  const stderr = createCapture(cap);
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout.add(chunk);
    onOutput?.("stdout", chunk);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr.add(chunk);
    onOutput?.("stderr", chunk);
  });

  return new Promise<CommandResult>((resolve) => {
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let timedOut = false;
    let killing = false;
    let done = false;
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const after = (ms: number, fire: () => void) => timers.add(setTimeout(fire, ms));

    function finish(result: CommandResult): void {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      // Pipes a leftover process still holds must not keep the agent's event loop busy.
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve(result);
    }

    function complete(): void {
      finish({
        exitCode: exit?.code ?? -1,
        stdout: stdout.text(),
        stderr: stderr.text(),
        timedOut,
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        durationMs: Math.round(performance.now() - started),
        ...(exit?.signal ? { signal: exit.signal } : {}),
      });
    }

    /** TERM the group, KILL it after the grace, then stop waiting for its pipes. */
    function killGroup(): void {
      if (killing || child.pid === undefined) return;
      killing = true;
      const pid = child.pid;
      signalProcessGroup(pid, "SIGTERM");
      after(killGraceMs, () => {
        signalProcessGroup(pid, "SIGKILL");
        after(pipeGraceMs, complete);
      });
    }

    function onAbort(): void {
      killGroup();
    }

    child.on("error", (error) => {
      // Only a failed start ends the run here; a failed kill leaves the timers in charge.
      if (child.pid === undefined) finish(spawnFailure(program, error, started));
    });
    child.once("exit", (code, exitSignal) => {
      exit = { code, signal: exitSignal };
      // Something it started in the background may hold the pipes: give it a moment, then the group goes.
      after(pipeGraceMs, killGroup);
    });
    child.once("close", (code: number | null, exitSignal: NodeJS.Signals | null) => {
      exit ??= { code, signal: exitSignal };
      complete();
    });
    after(timeoutMs, () => {
      if (exit !== undefined) return;
      timedOut = true;
      killGroup();
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
