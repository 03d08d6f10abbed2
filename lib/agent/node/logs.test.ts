// Issue 12, StreamLogs: declared log files (last lines, follow, truncation, rotation) and journald via journalctl -o json.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import {
  appendFile,
  chmod,
  mkdtemp,
  readFile,
  rename,
  rm,
  truncate,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { manualClock } from "../../../test/support/in-process.ts";
import { gone, readPidFile } from "../../../test/support/processes.ts";
import { DroverError } from "../../errors/index.ts";
import type { AgentNodeConfig, LogQuery, NodeLogLine } from "../../node/types.ts";
import { journaldAvailable, streamNodeLogs } from "./logs.ts";

let dir: string;
let logPath: string;
let config: AgentNodeConfig;
let controller: AbortController;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "drover-logs-"));
  logPath = join(dir, "app.log");
  config = { commands: {}, logs: { app: logPath }, gpio: {} };
  controller = new AbortController();
});
afterEach(async () => {
  controller.abort();
  await rm(dir, { recursive: true, force: true });
});

const fileQuery = (extra: Partial<LogQuery> = {}): LogQuery => ({
  file: "app",
  follow: false,
  lines: 100,
  ...extra,
});

/** Takes the next `count` lines, failing after a bounded wait. */
async function take(
  iterator: AsyncIterator<NodeLogLine>,
  count: number,
  withinMs = 3000,
): Promise<NodeLogLine[]> {
  const lines: NodeLogLine[] = [];
  const deadline = Date.now() + withinMs;
  while (lines.length < count) {
    const remaining = deadline - Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, remaining));
    });
    const next = await Promise.race([iterator.next(), timeout]);
    clearTimeout(timer);
    if (next === "timeout") throw new Error(`only ${lines.length} of ${count} lines arrived`);
    if (next.done) throw new Error(`the stream ended after ${lines.length} of ${count} lines`);
    lines.push(next.value);
  }
  return lines;
}

async function all(iterable: AsyncIterable<NodeLogLine>): Promise<string[]> {
  const messages: string[] = [];
  for await (const line of iterable) messages.push(line.message);
  return messages;
}

const messages = (lines: NodeLogLine[]) => lines.map((line) => line.message);

describe("a declared log file", () => {
  test("the last N lines, with the declared name as source; an unfinished last line included", async () => {
    await writeFile(
      logPath,
      `${Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join("\n")}\n`,
    );
    const lines = streamNodeLogs(config, fileQuery({ lines: 3 }), {
      signal: controller.signal,
      hostname: "pi-1",
    });
    const got: NodeLogLine[] = [];
    for await (const line of lines) got.push(line);
    expect(messages(got)).toEqual(["line 8", "line 9", "line 10"]);
    expect(got[0]).toMatchObject({ source: "app", priority: 6, hostname: "pi-1" });

    await appendFile(logPath, "no newline yet");
    expect(
      await all(streamNodeLogs(config, fileQuery({ lines: 2 }), { signal: controller.signal })),
    ).toEqual(["line 10", "no newline yet"]);
  });

  test("only the last MiB is read for the backlog, and its cut first line is dropped", async () => {
    const long = "x".repeat(1000);
    const body = Array.from({ length: 2000 }, (_, i) => `${i} ${long}`).join("\n");
    await writeFile(logPath, `${body}\n`);
    const got = await all(
      streamNodeLogs(config, fileQuery({ lines: 10_000 }), { signal: controller.signal }),
    );
    expect(got.length).toBeGreaterThan(1000);
    expect(got.length).toBeLessThan(1050);
    // Every line is whole: none starts mid-line.
    for (const line of got) expect(line).toMatch(/^\d+ x{1000}$/);
    expect(got.at(-1)).toBe(`1999 ${long}`);
  });

  test("lines longer than 16 KiB are cut", async () => {
    await writeFile(logPath, `${"y".repeat(20_000)}\nshort\n`);
    const got = await all(streamNodeLogs(config, fileQuery(), { signal: controller.signal }));
    expect(got).toEqual(["y".repeat(16 * 1024), "short"]);
  });

  test("following: appended lines arrive, a partial line waits for its newline", async () => {
    await writeFile(logPath, "old 1\nold 2\nold 3\n");
    const iterator = streamNodeLogs(config, fileQuery({ follow: true, lines: 2 }), {
      signal: controller.signal,
      pollMs: 20,
    })[Symbol.asyncIterator]();
    expect(messages(await take(iterator, 2))).toEqual(["old 2", "old 3"]);
    await appendFile(logPath, "new 1\nnew ");
    expect(messages(await take(iterator, 1))).toEqual(["new 1"]);
    await appendFile(logPath, "2\nnew 3\n");
    expect(messages(await take(iterator, 2))).toEqual(["new 2", "new 3"]);
    await iterator.return?.();
  });

  test("following: a truncated file is read again from its start", async () => {
    await writeFile(logPath, "before 1\nbefore 2\n");
    const iterator = streamNodeLogs(config, fileQuery({ follow: true, lines: 10 }), {
      signal: controller.signal,
      pollMs: 20,
    })[Symbol.asyncIterator]();
    expect(messages(await take(iterator, 2))).toEqual(["before 1", "before 2"]);
    await truncate(logPath, 0);
    await appendFile(logPath, "after\n");
    expect(messages(await take(iterator, 1))).toEqual(["after"]);
    await iterator.return?.();
  });

  test("following: rotation by rename and recreate finishes the old file, then reads the new one", async () => {
    await writeFile(logPath, "first\n");
    const iterator = streamNodeLogs(config, fileQuery({ follow: true, lines: 10 }), {
      signal: controller.signal,
      pollMs: 20,
    })[Symbol.asyncIterator]();
    expect(messages(await take(iterator, 1))).toEqual(["first"]);
    await rename(logPath, `${logPath}.1`);
    // The writer still had the old file open and finished a line there.
    await appendFile(`${logPath}.1`, "late in old\n");
    await writeFile(logPath, "fresh 1\nfresh 2\n");
    expect(messages(await take(iterator, 3))).toEqual(["late in old", "fresh 1", "fresh 2"]);
    await appendFile(logPath, "fresh 3\n");
    expect(messages(await take(iterator, 1))).toEqual(["fresh 3"]);
    await iterator.return?.();
  });

  test("aborting ends the iteration at once, even mid-wait with a long poll interval", async () => {
    await writeFile(logPath, "one\n");
    const iterator = streamNodeLogs(config, fileQuery({ follow: true, lines: 1 }), {
      signal: controller.signal,
      pollMs: 60_000,
    })[Symbol.asyncIterator]();
    await take(iterator, 1);
    const pending = iterator.next();
    await Bun.sleep(50);
    const started = Date.now();
    controller.abort();
    // Resolving long before the 60 s poll shows the wait (lib/tasks sleep) was cut, its timer cleared.
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(Date.now() - started).toBeLessThan(500);
  });

  test("past the backlog, lines beyond the rate are dropped and counted in one notice", async () => {
    await writeFile(logPath, "backlog\n");
    const clock = manualClock();
    const iterator = streamNodeLogs(config, fileQuery({ follow: true, lines: 1 }), {
      signal: controller.signal,
      pollMs: 20,
      maxLinesPerSecond: 5,
      clock,
    })[Symbol.asyncIterator]();
    expect(messages(await take(iterator, 1))).toEqual(["backlog"]);
    await appendFile(logPath, Array.from({ length: 20 }, (_, i) => `flood ${i}\n`).join(""));
    expect(messages(await take(iterator, 5))).toEqual([0, 1, 2, 3, 4].map((i) => `flood ${i}`));
    // Time does not move: reading on drops the other 15. A second later the next line passes, after the notice.
    const pending = iterator.next();
    await Bun.sleep(100);
    clock.advance(1000);
    await appendFile(logPath, "calm\n");
    const notice = await pending;
    expect(notice.value).toMatchObject({
      message: "… 15 lines skipped (more than 5 a second)",
      priority: 4,
    });
    const [calm] = await take(iterator, 1);
    expect(calm?.message).toBe("calm");
    await iterator.return?.();
  });

  test("a name the config does not declare is refused, without revealing any path", () => {
    const error = (() => {
      try {
        streamNodeLogs(config, fileQuery({ file: "shadow" }), { signal: controller.signal });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(DroverError);
    expect((error as DroverError).code).toBe("not_found");
    expect((error as DroverError).message).toBe(
      `no log file named "shadow" is declared in this agent's config`,
    );
    expect((error as DroverError).message).not.toContain(dir);
  });

  test("bad queries name their field", () => {
    const refused = (query: LogQuery) => {
      try {
        streamNodeLogs(config, query, { signal: controller.signal });
      } catch (error) {
        return (error as DroverError).details[0]?.field;
      }
      return "accepted";
    };
    expect(refused(fileQuery({ lines: 0 }))).toBe("lines");
    expect(refused(fileQuery({ lines: 10_001 }))).toBe("lines");
    expect(refused(fileQuery({ unit: "nginx.service" }))).toBe("unit");
    expect(refused({ follow: false, lines: 10, unit: "nginx service" })).toBe("unit");
    expect(refused({ follow: false, lines: 10, unit: "--output=verbose" })).toBe("unit");
    expect(refused({ follow: false, lines: 10, priority: 8 })).toBe("priority");
    expect(refused({ follow: false, lines: 10, sinceMs: -1 })).toBe("sinceMs");
    expect(refused({ follow: false, lines: 10, unit: "systemd-fsck@dev-x.service" })).toBe(
      "accepted",
    );
  });
});

describe("journald (a SIMULATED journalctl: this container runs no journald)", () => {
  const entries = [
    {
      __REALTIME_TIMESTAMP: "1764930000123456",
      MESSAGE: "Started nginx.",
      PRIORITY: "6",
      _SYSTEMD_UNIT: "nginx.service",
      _HOSTNAME: "pi-1",
    },
    {
      __REALTIME_TIMESTAMP: "1764930001000000",
      MESSAGE: [104, 195, 169, 0, 33],
      PRIORITY: "3",
      SYSLOG_IDENTIFIER: "kernel",
      _HOSTNAME: "pi-1",
    },
  ];

  /** A stand-in journalctl: records its argv and pid, prints fixed JSON, and with -f keeps running (with a child). */
  async function fakeJournalctl(exitCode = 0, stderr = ""): Promise<string> {
    const script = join(dir, "journalctl");
    const json = entries.map((entry) => JSON.stringify(entry)).join("\n");
    await writeFile(
      script,
      `#!/bin/sh
printf '%s\\n' "$@" > ${dir}/args
echo $$ > ${dir}/pid
cat <<'JSON'
${json}
not json
JSON
for arg in "$@"; do
  if [ "$arg" = "-f" ]; then sleep 60 & echo $! > ${dir}/child; wait; fi
done
${stderr ? `echo '${stderr}' >&2` : ""}
exit ${exitCode}
`,
    );
    await chmod(script, 0o755);
    return script;
  }

  test("entries are parsed, and journalctl gets exactly the query's arguments", async () => {
    const journalctl = await fakeJournalctl();
    const query: LogQuery = {
      unit: "nginx.service",
      priority: 4,
      sinceMs: 1_764_930_000_999,
      follow: false,
      lines: 50,
    };
    const got: NodeLogLine[] = [];
    for await (const line of streamNodeLogs(config, query, {
      signal: controller.signal,
      journalctl,
    })) {
      got.push(line);
    }
    expect(got).toEqual([
      {
        timestamp: 1_764_930_000_123,
        message: "Started nginx.",
        source: "nginx.service",
        priority: 6,
        hostname: "pi-1",
      },
      {
        timestamp: 1_764_930_001_000,
        message: "hé\u0000!",
        source: "kernel",
        priority: 3,
        hostname: "pi-1",
      },
    ]);
    expect((await readFile(join(dir, "args"), "utf8")).trim().split("\n")).toEqual([
      "-o",
      "json",
      "--no-pager",
      "--all",
      "-n",
      "50",
      "-u",
      "nginx.service",
      "-p",
      "4",
      "--since",
      "@1764930000",
    ]);
  });

  test("following: aborting kills journalctl and what it started, and ends the iteration", async () => {
    const journalctl = await fakeJournalctl();
    const iterator = streamNodeLogs(
      config,
      { follow: true, lines: 10 },
      {
        signal: controller.signal,
        journalctl,
      },
    )[Symbol.asyncIterator]();
    expect(messages(await take(iterator, 2))).toEqual(["Started nginx.", "hé\u0000!"]);
    expect((await readFile(join(dir, "args"), "utf8")).trim().split("\n").at(-1)).toBe("-f");
    const pid = await readPidFile(join(dir, "pid"));
    const child = await readPidFile(join(dir, "child"));
    const pending = iterator.next();
    controller.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(await gone(pid)).toBe(true);
    expect(await gone(child)).toBe(true);
  });

  test("following: the consumer stopping (return) kills journalctl too", async () => {
    const journalctl = await fakeJournalctl();
    const lines = streamNodeLogs(
      config,
      { follow: true, lines: 10 },
      {
        signal: controller.signal,
        journalctl,
      },
    );
    let child = 0;
    for await (const _line of lines) {
      child = await readPidFile(join(dir, "child"));
      break;
    }
    expect(await gone(await readPidFile(join(dir, "pid")))).toBe(true);
    expect(await gone(child)).toBe(true);
  });

  test("a journalctl that cannot run, or fails, is `unavailable` with the reason", async () => {
    const missing = streamNodeLogs(
      config,
      { follow: false, lines: 1 },
      {
        signal: controller.signal,
        journalctl: join(dir, "no-such-journalctl"),
      },
    );
    const error = await all(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DroverError);
    expect((error as DroverError).code).toBe("unavailable");
    expect((error as DroverError).message).toBe(
      "journald cannot be read on this machine (journalctl not found)",
    );

    const failing = await fakeJournalctl(1, "Failed to open journal: Permission denied");
    await expect(
      all(
        streamNodeLogs(
          config,
          { follow: false, lines: 1 },
          { signal: controller.signal, journalctl: failing },
        ),
      ),
    ).rejects.toThrow(
      "journald cannot be read on this machine (Failed to open journal: Permission denied)",
    );
  });

  test("journaldAvailable: needs a journal directory and a journalctl that runs", async () => {
    const journalctl = await fakeJournalctl();
    expect(await journaldAvailable(journalctl, [dir])).toBe(true);
    expect(await journaldAvailable(journalctl, [join(dir, "no-journal")])).toBe(false);
    expect(await journaldAvailable(join(dir, "no-such-journalctl"), [dir])).toBe(false);
  });
});
