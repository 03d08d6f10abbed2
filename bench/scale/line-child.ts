/**
 * A bench child process spoken to in JSON lines: it prints a first line when
 * ready, then one reply per command, matched by `seq`. Stopping closes its
 * stdin (the child exits on that), then SIGKILLs it after a grace period.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { within } from "../table.ts";

export interface LineChild<Ready> {
  readonly ready: Ready;
  readonly pid: number;
  request<Reply>(command: object, timeoutMs?: number): Promise<Reply>;
  stop(): Promise<void>;
}

export async function spawnLineChild<Ready>(
  script: string,
  args: string[],
  readyTimeoutMs = 30_000,
): Promise<LineChild<Ready>> {
  const child: ChildProcess = spawn(process.execPath, [script, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  const pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  let seq = 0;
  let resolveReady: (value: Ready) => void = () => undefined;
  const ready = new Promise<Ready>((resolve) => {
    resolveReady = resolve;
  });
  const exited = new Promise<never>((_, reject) => {
    child.once("exit", (code, signal) => {
      const error = new Error(`${script} exited (${code ?? signal}): ${stderr}`);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
      reject(error);
    });
  });
  exited.catch(() => undefined);
  if (!child.stdout || !child.stdin) throw new Error("a bench child without pipes");
  createInterface({ input: child.stdout }).on("line", (line) => {
    const message = JSON.parse(line) as { seq?: number };
    if (message.seq === undefined) return resolveReady(message as Ready);
    pending.get(message.seq)?.resolve(message);
    pending.delete(message.seq);
  });
  const stdin = child.stdin;

  async function stop(): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = once(child, "exit");
    stdin.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    try {
      await within(15_000, `stopping ${script}`, gone);
    } finally {
      clearTimeout(timer);
    }
  }

  try {
    const readyLine = await within(
      readyTimeoutMs,
      `${script} starting`,
      Promise.race([ready, exited]),
    );
    return {
      ready: readyLine,
      pid: child.pid ?? 0,
      request<Reply>(command: object, timeoutMs = 600_000): Promise<Reply> {
        seq += 1;
        const reply = new Promise<Reply>((resolve, reject) => {
          pending.set(seq, { resolve: resolve as (value: unknown) => void, reject });
        });
        stdin.write(`${JSON.stringify({ seq, ...command })}\n`);
        return within(
          timeoutMs,
          `${script} answering ${JSON.stringify(command).slice(0, 40)}`,
          reply,
        ).then((message) => {
          const error = (message as { error?: string }).error;
          if (error) throw new Error(`${script}: ${error}`);
          return message;
        });
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
