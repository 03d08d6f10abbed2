/**
 * StreamLogs over journald: runs `journalctl -o json` (argv, no shell, the
 * minimal environment, its own process group) and turns each JSON line into
 * a NodeLogLine. The child is killed when the signal aborts or the consumer
 * stops iterating.
 */
import { Buffer } from "node:buffer";
import { type ChildProcess, spawn } from "node:child_process";
import { access } from "node:fs/promises";
import { DroverError } from "../../errors/index.ts";
import type { LogQuery, NodeLogLine } from "../../node/types.ts";
import { minimalEnvironment, signalProcessGroup } from "./exec.ts";
import { createLineSplitter } from "./line-splitter.ts";
import { maxLogLineBytes } from "./log-file.ts";

/** journalctl's JSON for one entry; longer lines (huge fields) are cut and fail to parse. */
const maxJsonLineBytes = 256 * 1024;
const killGraceMs = 2000;
const maxStderrBytes = 4096;
/** Where a journal lives when journald runs (volatile, persistent, and its sockets). */
export const defaultJournalDirs = ["/run/systemd/journal", "/run/log/journal", "/var/log/journal"];

/** journalctl's arguments for a query (already validated). */
export function journalctlArgs(query: LogQuery): string[] {
  // --all: without it, fields over 4 KiB come out as null.
  const args = ["-o", "json", "--no-pager", "--all", "-n", String(query.lines)];
  if (query.unit !== undefined) args.push("-u", query.unit);
  if (query.priority !== undefined) args.push("-p", String(query.priority));
  if (query.sinceMs !== undefined) args.push("--since", `@${Math.floor(query.sinceMs / 1000)}`);
  if (query.follow) args.push("-f");
  return args;
}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  // journald stores non-UTF-8 or binary fields as arrays of byte values.
  if (Array.isArray(value) && value.every((item) => Number.isInteger(item))) {
    return Buffer.from(value as number[]).toString("utf8");
  }
  return undefined;
}

/** One line of `journalctl -o json`, or undefined when it is not an entry. */
export function parseJournalEntry(line: string): NodeLogLine | undefined {
  let fields: unknown;
  try {
    fields = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) return undefined;
  const entry = fields as Record<string, unknown>;
  const micros = Number(text(entry.__REALTIME_TIMESTAMP));
  const priority = Number(text(entry.PRIORITY) ?? 6);
  const message = text(entry.MESSAGE) ?? "";
  const hostname = text(entry._HOSTNAME);
  return {
    timestamp: Number.isFinite(micros) ? Math.floor(micros / 1000) : 0,
    message:
      Buffer.byteLength(message) > maxLogLineBytes
        ? Buffer.from(message).subarray(0, maxLogLineBytes).toString("utf8")
        : message,
    source: text(entry._SYSTEMD_UNIT) ?? text(entry.SYSLOG_IDENTIFIER) ?? "journal",
    priority: Number.isInteger(priority) && priority >= 0 && priority <= 7 ? priority : 6,
    ...(hostname === undefined ? {} : { hostname }),
  };
}

function unavailable(reason: string): DroverError {
  return new DroverError("unavailable", `journald cannot be read on this machine (${reason})`);
}

function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (error) => {
      const code = (error as { code?: unknown }).code;
      reject(unavailable(code === "ENOENT" ? "journalctl not found" : String(code ?? error)));
    });
  });
}

/** Yields journal entries for the query until journalctl ends, the signal aborts or iteration stops. */
export async function* readJournal(
  query: LogQuery,
  options: { journalctl: string; signal: AbortSignal },
): AsyncGenerator<NodeLogLine> {
  const { signal } = options;
  if (signal.aborted) return;
  const child = spawn(options.journalctl, journalctlArgs(query), {
    shell: false,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...minimalEnvironment },
  });
  // A later error (a failed kill) must not become an unhandled 'error' event.
  child.on("error", () => {});
  let exited = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const exit = new Promise<number | null>((resolve) => {
    child.once("close", (code: number | null) => {
      exited = true;
      clearTimeout(killTimer);
      resolve(code);
    });
  });
  function stop(): void {
    if (exited || killTimer !== undefined || child.pid === undefined) return;
    const pid = child.pid;
    signalProcessGroup(pid, "SIGTERM");
    killTimer = setTimeout(() => signalProcessGroup(pid, "SIGKILL"), killGraceMs);
  }
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    if (stderr.length < maxStderrBytes) stderr += chunk.toString("utf8");
  });
  signal.addEventListener("abort", stop, { once: true });
  try {
    await started(child);
    const splitter = createLineSplitter(maxJsonLineBytes);
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      for (const line of splitter.push(chunk)) {
        const entry = parseJournalEntry(line);
        if (entry) yield entry;
      }
    }
    const code = await exit;
    if (code !== 0 && !signal.aborted) {
      throw unavailable(stderr.trim().split("\n")[0] || `journalctl exited with ${code}`);
    }
  } catch (error) {
    // Stopping closes journalctl's output under the reader; that is the end, not a failure.
    if (!signal.aborted) throw error;
  } finally {
    signal.removeEventListener("abort", stop);
    stop();
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
}

/** Whether journald can be read here: journalctl runs and a journal exists. */
export async function journaldAvailable(
  journalctl = "journalctl",
  journalDirs: readonly string[] = defaultJournalDirs,
): Promise<boolean> {
  const found = await Promise.all(
    journalDirs.map((dir) =>
      access(dir).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (!found.includes(true)) return false;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 2000);
  try {
    const probe = readJournal(
      { follow: false, lines: 1 },
      { journalctl, signal: controller.signal },
    );
    for await (const _ of probe) break;
    return !controller.signal.aborted;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
