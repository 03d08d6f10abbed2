// Issue 12, ExecuteCommand: declared commands only, no shell, argument patterns, minimal env, group kill, output cap.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alive, gone, readPidFile } from "../../../test/support/processes.ts";
import { DroverError } from "../../errors/index.ts";
import type { DeclaredCommand } from "../../node/types.ts";
import { runDeclaredCommand } from "./exec.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "drover-exec-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function declared(argv: string[], extra: Partial<DeclaredCommand> = {}): DeclaredCommand {
  return { argv, timeoutMs: 10_000, maxOutputBytes: 65536, maxArgs: 0, ...extra };
}

test("a declared command runs and returns its stdout, stderr and exit code", async () => {
  const result = await runDeclaredCommand(
    declared(["sh", "-c", "echo hi; echo oops >&2; exit 3"]),
    [],
  );
  expect(result.exitCode).toBe(3);
  expect(result.stdout).toBe("hi\n");
  expect(result.stderr).toBe("oops\n");
  expect(result.timedOut).toBe(false);
  expect(result.signal).toBeUndefined();
  expect(result.durationMs).toBeGreaterThanOrEqual(0);
});

test("extra arguments matching the pattern are passed as separate argv entries, not through a shell", async () => {
  const command = declared(["/bin/echo"], { argPattern: "[A-Za-z;$ ]+", maxArgs: 2 });
  const result = await runDeclaredCommand(command, ["a; touch x", "$HOME"]);
  expect(result.exitCode).toBe(0);
  expect(result.stdout).toBe("a; touch x $HOME\n");
});

test("an argument not matching the pattern is refused and nothing runs", async () => {
  const marker = join(dir, "ran");
  const command = declared(["sh", "-c", `touch ${marker}; echo "$@"`, "sh"], {
    argPattern: "[a-z]{1,8}",
    maxArgs: 2,
  });
  const refusal = await runDeclaredCommand(command, ["ok", "../etc"]).catch((e: unknown) => e);
  expect(refusal).toBeInstanceOf(DroverError);
  expect((refusal as DroverError).code).toBe("invalid_argument");
  expect((refusal as DroverError).details).toEqual([
    { field: "args[1]", message: "does not match the command's argument pattern" },
  ]);
  // The pattern is anchored: a matching prefix is not enough.
  await expect(runDeclaredCommand(command, ["abc def"])).rejects.toThrow("args[0]");
  // Too many, and any argument at all for a command without a pattern.
  await expect(runDeclaredCommand(command, ["a", "b", "c"])).rejects.toThrow("at most 2");
  await expect(runDeclaredCommand(declared(["true"]), ["x"])).rejects.toThrow("no extra arguments");
  expect(await stat(marker).catch(() => undefined)).toBeUndefined();

  // The same command with good arguments does run (the marker proves the check above mattered).
  const ran = await runDeclaredCommand(command, ["ok"]);
  expect(ran.stdout).toBe("ok\n");
  expect((await stat(marker)).isFile()).toBe(true);
});

test("the agent's environment does not reach the child", async () => {
  process.env.DROVER_SECRET_TEST = "join-token-value";
  try {
    const result = await runDeclaredCommand(declared(["env"]), []);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toContain("DROVER_SECRET_TEST");
    expect(result.stdout).not.toContain("join-token-value");
    expect(result.stdout.trim().split("\n").sort()).toEqual([
      "HOME=/",
      "LANG=C.UTF-8",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]);
  } finally {
    delete process.env.DROVER_SECRET_TEST;
  }
});

test("a command past its timeout is killed with its children", async () => {
  const pidFile = join(dir, "child.pid");
  const command = declared(["sh", "-c", `sleep 60 & echo $! > ${pidFile}; sleep 60`], {
    timeoutMs: 1000,
  });
  const started = Date.now();
  const result = await runDeclaredCommand(command, []);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(result.timedOut).toBe(true);
  expect(result.exitCode).toBe(-1);
  expect(result.signal).toBe("SIGTERM");
  expect(await gone(await readPidFile(pidFile))).toBe(true);
});

test("aborting the signal kills the whole group", async () => {
  const pidFile = join(dir, "child.pid");
  const command = declared(["sh", "-c", `sleep 60 & echo $! > ${pidFile}; sleep 60`]);
  const controller = new AbortController();
  const running = runDeclaredCommand(command, [], { signal: controller.signal });
  const child = await readPidFile(pidFile);
  expect(alive(child)).toBe(true);
  controller.abort();
  const result = await running;
  expect(result.timedOut).toBe(false);
  expect(result.signal).toBe("SIGTERM");
  expect(await gone(child)).toBe(true);
});

test("a child that ignores SIGTERM and keeps the pipes open is killed and the call still ends", async () => {
  const pidFile = join(dir, "child.pid");
  const command = declared(
    ["sh", "-c", `trap '' TERM; sh -c "trap '' TERM; sleep 60" & echo $! > ${pidFile}; wait`],
    { timeoutMs: 1000 },
  );
  const started = Date.now();
  const result = await runDeclaredCommand(command, []);
  // timeout 1 s + 2 s grace + at most 1 s for the pipes.
  expect(Date.now() - started).toBeLessThan(6000);
  expect(result.timedOut).toBe(true);
  expect(await gone(await readPidFile(pidFile))).toBe(true);
});

test("a command that exits leaving a child on its pipes returns, and the child is killed", async () => {
  const pidFile = join(dir, "child.pid");
  const command = declared(["sh", "-c", `sleep 60 & echo $! > ${pidFile}; echo done`]);
  const started = Date.now();
  const result = await runDeclaredCommand(command, []);
  expect(Date.now() - started).toBeLessThan(4000);
  expect(result.exitCode).toBe(0);
  expect(result.stdout).toBe("done\n");
  expect(result.timedOut).toBe(false);
  expect(await gone(await readPidFile(pidFile))).toBe(true);
});

test("output beyond the cap is cut and flagged, and the command still finishes", async () => {
  const result = await runDeclaredCommand(
    declared(["head", "-c", "100000", "/dev/zero"], { maxOutputBytes: 1000 }),
    [],
  );
  expect(result.exitCode).toBe(0);
  expect(result.stdout.length).toBe(1000);
  expect(result.stdoutTruncated).toBe(true);
  expect(result.stderrTruncated).toBe(false);
});

test("a requested timeout above the declared one is clamped down", async () => {
  const command = declared(["sleep", "30"], { timeoutMs: 1000 });
  const started = Date.now();
  const result = await runDeclaredCommand(command, [], { timeoutMs: 60_000 });
  expect(result.timedOut).toBe(true);
  expect(Date.now() - started).toBeLessThan(4000);
  await expect(runDeclaredCommand(command, [], { timeoutMs: 0 })).rejects.toThrow("timeoutMs");
});

test("a program that does not exist gives exit code 127 and says so", async () => {
  const result = await runDeclaredCommand(declared(["/nonexistent/drover-no-such-program"]), []);
  expect(result.exitCode).toBe(127);
  expect(result.stderr).toContain("no such program");
  const bare = await runDeclaredCommand(declared(["drover-no-such-program-either"]), []);
  expect(bare.exitCode).toBe(127);
});
