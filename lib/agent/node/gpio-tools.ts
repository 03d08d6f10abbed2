/**
 * libgpiod's command-line tools (Debian's `gpiod` package) as the way to the
 * Linux GPIO character device: found once, their major version probed once,
 * then spawned with argv only (never a shell) and with an empty environment,
 * so none of the agent's secrets reach them. Both command-line dialects are
 * spoken: 1.6 (Debian 12) and 2.x (Debian 13).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { join } from "node:path";
import { DroverError } from "../../errors/index.ts";
import type { DeclaredLine, GpioLevel } from "../../node/types.ts";
import type { Timers } from "../../time/index.ts";

/** Where bare tool names are looked up when the caller gives no search path. */
export const defaultToolSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** The tools found, and which command-line dialect they speak. */
export interface GpioTools {
  gpioset: string;
  gpioget: string;
  /** libgpiod's major version: 1 (`gpioset CHIP OFFSET=V`) or 2 (`gpioset -c CHIP OFFSET=V`). */
  major: 1 | 2;
}

/** A running gpioset that keeps one output line at one level until released. */
export interface LineHolder {
  readonly pid: number;
  readonly level: GpioLevel;
  /** False once the process has ended (released, or killed by someone else). */
  readonly alive: boolean;
  /** Ends the process (bounded: SIGTERM, then SIGKILL); the kernel then releases the line. */
  release(): Promise<void>;
}

const toolTimeoutMs = 5000;
const holderReadyTimeoutMs = 5000;
const exitGraceMs = 1000;
/** libgpiod 1.6 prints nothing once the line is set: a holder alive this long has it. */
const v1SettleMs = 100;
const outputCap = 16 * 1024;
/** The children's whole environment: fixed messages, nothing of the agent's. */
const childEnv = { LC_ALL: "C" };

const installHint = "install Debian's gpiod package (libgpiod tools)";

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function locate(name: string, searchPath: string): Promise<string> {
  if (name.includes("/")) {
    if (await isExecutableFile(name)) return name;
  } else {
    for (const dir of searchPath.split(":")) {
      if (dir.startsWith("/") && (await isExecutableFile(join(dir, name)))) return join(dir, name);
    }
  }
  throw new DroverError("failed_precondition", `GPIO: ${name} was not found: ${installHint}`);
}

interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function capture(stream: NodeJS.ReadableStream | null, into: { text: string }): void {
  stream?.on("data", (chunk: Buffer) => {
    if (into.text.length < outputCap) into.text += chunk.toString("utf8").slice(0, outputCap);
  });
  stream?.on("error", () => {});
}

/** Runs a tool to completion; a tool that hangs is killed after `toolTimeoutMs`. */
function runTool(path: string, args: string[], timers: Timers): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { stdio: ["ignore", "pipe", "pipe"], env: childEnv });
    const stdout = { text: "" };
    const stderr = { text: "" };
    capture(child.stdout, stdout);
    capture(child.stderr, stderr);
    const cancel = timers.after(toolTimeoutMs, () => {
      child.kill("SIGKILL");
      reject(
        new DroverError("unavailable", `GPIO: ${path} did not finish within ${toolTimeoutMs} ms`),
      );
    });
    child.on("error", (error) => {
      cancel();
      reject(new DroverError("failed_precondition", `GPIO: cannot run ${path}: ${error.message}`));
    });
    child.on("close", (code) => {
      cancel();
      resolve({ code, stdout: stdout.text, stderr: stderr.text });
    });
  });
}

function toolFailure(tool: string, run: { code: number | null; stderr: string }): DroverError {
  const message = run.stderr.trim().split("\n").pop() || `exited with code ${run.code}`;
  return new DroverError("failed_precondition", `GPIO: ${tool}: ${message}`);
}

/** Finds gpioset and gpioget and asks gpioset its version (once, at start). */
export async function locateGpioTools(
  names: { gpioset: string; gpioget: string },
  searchPath: string,
  timers: Timers,
): Promise<GpioTools> {
  const gpioset = await locate(names.gpioset, searchPath);
  const gpioget = await locate(names.gpioget, searchPath);
  const run = await runTool(gpioset, ["--version"], timers);
  const version = /\bv(\d+)\.\d+/.exec(run.stdout);
  if (run.code !== 0 || !version) {
    throw new DroverError(
      "failed_precondition",
      `GPIO: ${gpioset} --version did not name a libgpiod version: ${installHint}`,
    );
  }
  return { gpioset, gpioget, major: Number(version[1]) >= 2 ? 2 : 1 };
}

/** The flags both tools share for a line: active-low and bias, in the dialect's spelling. */
function lineFlags(major: 1 | 2, line: DeclaredLine): string[] {
  const flags = line.activeLow ? ["--active-low"] : [];
  if (line.bias === "as-is") return flags;
  // 1.6 spells the option -B and the value "disable"; 2.x spells them -b and "disabled".
  if (major === 1) return [...flags, "-B", line.bias === "disabled" ? "disable" : line.bias];
  return [...flags, "-b", line.bias];
}

const logicalValue = (level: GpioLevel) => (level === "on" ? "1" : "0");

/**
 * gpioset's argv for a holder. 1.6: `--mode=wait` holds until stdin reaches
 * end of file, which also happens when the agent dies (even by SIGKILL), so
 * the line is released with it. 2.x holds until signalled; `--banner` tells
 * when the line is set.
 */
export function holderArgs(major: 1 | 2, line: DeclaredLine, level: GpioLevel): string[] {
  const value = `${line.offset}=${logicalValue(level)}`;
  if (major === 1) return ["--mode=wait", ...lineFlags(1, line), line.chip, value];
  return ["--banner", "-C", "drover", "-c", line.chip, ...lineFlags(2, line), value];
}

/** gpioget's argv: 1.6 `[flags] CHIP OFFSET`, 2.x `-c CHIP [flags] OFFSET`. */
export function readArgs(major: 1 | 2, line: DeclaredLine): string[] {
  if (major === 1) return [...lineFlags(1, line), line.chip, String(line.offset)];
  return ["-c", line.chip, ...lineFlags(2, line), String(line.offset)];
}

/** gpioget's answer: 1.6 prints `1`, 2.x prints `"17"=active`. */
export function parseReadOutput(stdout: string): GpioLevel | undefined {
  const text = stdout.trim();
  if (text === "1" || /=active$/.test(text)) return "on";
  if (text === "0" || /=inactive$/.test(text)) return "off";
  return undefined;
}

/** Reads an input line's logical level with gpioget. */
export async function readLine(
  tools: GpioTools,
  line: DeclaredLine,
  timers: Timers,
): Promise<GpioLevel> {
  const run = await runTool(tools.gpioget, readArgs(tools.major, line), timers);
  if (run.code !== 0) throw toolFailure("gpioget", run);
  const level = parseReadOutput(run.stdout);
  if (!level)
    throw new DroverError("internal", `GPIO: gpioget answered ${JSON.stringify(run.stdout)}`);
  return level;
}

function exitedWithin(child: ChildProcess, ms: number, timers: Timers): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onExit = () => {
      cancel();
      resolve(true);
    };
    const cancel = timers.after(ms, () => {
      child.off("exit", onExit);
      resolve(false);
    });
    child.once("exit", onExit);
  });
}

/**
 * Starts a gpioset that drives `line` at `level` and resolves once the line is
 * set; rejects with the tool's own message if it fails (busy line, no chip).
 */
export function startHolder(
  tools: GpioTools,
  line: DeclaredLine,
  level: GpioLevel,
  timers: Timers,
): Promise<LineHolder> {
  // Not detached: a Ctrl-C or a service stop that signals the agent's process
  // group (systemd's default control-group kill) ends the holders with it.
  const child = spawn(tools.gpioset, holderArgs(tools.major, line, level), {
    stdio: ["pipe", "pipe", "pipe"],
    env: childEnv,
  });
  // Late errors (a failed kill, a closed pipe) must not become uncaught ones.
  child.on("error", () => {});
  child.stdin?.on("error", () => {});
  const stdout = { text: "" };
  const stderr = { text: "" };
  capture(child.stdout, stdout);
  capture(child.stderr, stderr);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });

  const holder: LineHolder = {
    pid: child.pid ?? -1,
    level,
    get alive() {
      return !exited;
    },
    async release() {
      if (exited) return;
      child.stdin?.end();
      child.kill("SIGTERM");
      if (await exitedWithin(child, exitGraceMs, timers)) return;
      child.kill("SIGKILL");
      if (!(await exitedWithin(child, exitGraceMs, timers))) {
        throw new DroverError("internal", `GPIO: gpioset (pid ${holder.pid}) survived SIGKILL`);
      }
    },
  };

  return new Promise((resolve, reject) => {
    const settle = (outcome: () => void) => {
      cancelTimeout();
      cancelSettle();
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
      outcome();
    };
    const onData = () => {
      if (tools.major === 2 && stdout.text.includes("Setting line")) settle(() => resolve(holder));
    };
    const onExit = (code: number | null) => {
      settle(() => reject(toolFailure("gpioset", { code, stderr: stderr.text })));
    };
    const onError = (error: Error) => {
      settle(() =>
        reject(
          new DroverError("failed_precondition", `GPIO: cannot run gpioset: ${error.message}`),
        ),
      );
    };
    const cancelTimeout = timers.after(holderReadyTimeoutMs, () => {
      settle(() => {
        void holder.release().catch(() => {});
        reject(
          new DroverError(
            "unavailable",
            `GPIO: gpioset did not set ${line.chip} line ${line.offset}`,
          ),
        );
      });
    });
    const cancelSettle =
      tools.major === 1 ? timers.after(v1SettleMs, () => settle(() => resolve(holder))) : () => {};
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}
