// Issue 10, metrics and access logs: `drover server --retention-days N` bounds how long telemetry is kept.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDroverServer } from "../../lib/server/index.ts";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { waitFor } from "../../test/support/loopback.ts";
import { runCli } from "../cli.ts";

const dir = mkdtempSync(join(tmpdir(), "drover-retention-flag-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI in-process; `stop` aborts it as SIGTERM would. */
function start(argv: string[]) {
  const controller = new AbortController();
  const out = { stdout: "", stderr: "" };
  const code = runCli(argv, {
    env: {},
    stdout: (text) => {
      out.stdout += text;
    },
    stderr: (text) => {
      out.stderr += text;
    },
    readStdin: async () => "",
    signal: controller.signal,
    self: "drover",
  });
  return { out, code, stop: () => controller.abort() };
}

test("--retention-days outside 1-3650 or not a whole number: exit 2 naming the flag, nothing created", async () => {
  const dataDir = join(dir, "never");
  for (const value of ["0", "3651", "1.5", "7d", "1e3"]) {
    const { out, code } = start(["server", "--data-dir", dataDir, "--retention-days", value]);
    expect({ value, code: await code, stdout: out.stdout }).toEqual({ value, code: 2, stdout: "" });
    expect(out.stderr).toContain(
      "error: --retention-days takes a whole number of days from 1 to 3650",
    );
    expect(out.stderr).toContain("Usage:\n  drover server");
  }
  expect(existsSync(dataDir)).toBe(false);
});

test("the core refuses what the flag refuses, before touching the data dir", async () => {
  const dataDir = join(dir, "core-never");
  for (const retentionDays of [0, 3651, 2.5]) {
    const error = await expectDroverRejection(startDroverServer({ dataDir, retentionDays }));
    expect(error.code).toBe("invalid_argument");
    expect(error.details[0]?.field).toBe("retentionDays");
  }
  expect(existsSync(dataDir)).toBe(false);
});

test("--retention-days is in the server's help", async () => {
  const { out, code } = start(["server", "--help"]);
  expect(await code).toBe(0);
  expect(out.stdout).toMatch(/--retention-days N +days access logs and agent metrics and logs/);
});

test("a valid --retention-days starts the server", async () => {
  const loopback = ["registration", "agent", "operator", "http"].flatMap((name) => [
    `--${name}-addr`,
    "127.0.0.1:0",
  ]);
  const server = start([
    "server",
    "--data-dir",
    join(dir, "server"),
    ...loopback,
    "--hostname",
    "localhost",
    "--retention-days",
    "3650",
  ]);
  await waitFor("the server to start", () => server.out.stdout.includes("Drover server running"), {
    timeoutMs: 20_000,
    intervalMs: 50,
  });
  server.stop();
  expect(await server.code).toBe(0);
}, 30_000);
