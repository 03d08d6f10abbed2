import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import {
  appendFile,
  chmod,
  mkdir,
  mkdtemp,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import {
  backend,
  closeAll,
  freePort,
  sleep as pause,
  waitFor,
} from "../../test/support/loopback.ts";
import { ACCESS_LOG_FIELDS, compileNginxConfig } from "../nginx/index.ts";
import {
  type AccessLogBatch,
  type AccessLogEntry,
  type AccessLogTailer,
  type AccessLogTailerOptions,
  createAccessLogTailer,
  parseAccessLogLine,
  summarizeAccessLog,
} from "./access-log.ts";
import { childPids } from "./nginx/process.ts";

/** Values for every field the compiler's log_format writes, as nginx would. */
const sample: Record<string, string> = {
  time: "2024-05-01T12:34:56+02:00",
  remote_addr: "203.0.113.7",
  method: "GET",
  uri: "/index.html?a=1",
  protocol: "HTTP/1.1",
  host: "example.test",
  status: "200",
  body_bytes_sent: "612",
  request_length: "87",
  request_time: "0.012",
  user_agent: "curl/8.0",
  referer: "",
  request_id: "0123456789abcdef0123456789abcdef",
  upstream_addr: "",
};

/** A log line in the compiler's field order; `uri` doubles as an id in these tests. */
function line(overrides: Record<string, string> = {}): string {
  const fields = Object.fromEntries(
    ACCESS_LOG_FIELDS.map(([field]) => [field, overrides[field] ?? sample[field] ?? ""]),
  );
  return `${JSON.stringify(fields)}\n`;
}
const request = (n: number) => line({ uri: `/r${n}` });

/** The tailer's timers run every 10-20 ms here: poll as often, give up after 5 s. */
const soon = { timeoutMs: 5000, intervalMs: 10 };

let dir: string;
let logPath: string;
const tailers: AccessLogTailer[] = [];

beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), "drover-access-log-")));
  logPath = join(dir, "access.log");
});

afterEach(async () => {
  for (const tailer of tailers.splice(0)) await tailer.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A tailer on logPath that records every batch; fast polls so tests stay short. */
function tail(options: Partial<AccessLogTailerOptions> = {}) {
  const batches: AccessLogBatch[] = [];
  const tailer = createAccessLogTailer({
    path: logPath,
    pollIntervalMs: 10,
    flushIntervalMs: 20,
    onBatch: (batch) => {
      batches.push(batch);
    },
    ...options,
  });
  tailers.push(tailer);
  const uris = () => batches.flatMap((batch) => batch.entries.map((entry) => entry.uri));
  const skipped = () => batches.reduce((sum, batch) => sum + batch.skipped, 0);
  return { tailer, batches, uris, skipped };
}

describe("parseAccessLogLine", () => {
  test("knows every field of ACCESS_LOG_FIELDS (a new one needs a look here)", () => {
    expect(ACCESS_LOG_FIELDS.map(([field]) => field).sort()).toEqual(Object.keys(sample).sort());
  });

  test("reads every field the compiler's log_format writes", () => {
    expect(parseAccessLogLine(line({ upstream_addr: "10.0.0.1:8080, 10.0.0.2:8080" }))).toEqual({
      timestamp: new Date("2024-05-01T10:34:56Z"),
      remoteAddr: "203.0.113.7",
      method: "GET",
      uri: "/index.html?a=1",
      protocol: "HTTP/1.1",
      host: "example.test",
      status: 200,
      bodyBytesSent: 612,
      requestBytes: 87,
      responseTimeMs: 12,
      userAgent: "curl/8.0",
      referer: null,
      requestId: "0123456789abcdef0123456789abcdef",
      upstreamAddr: "10.0.0.1:8080, 10.0.0.2:8080",
    });
  });

  test("request_time in seconds becomes whole milliseconds", () => {
    expect(parseAccessLogLine(line({ request_time: "1.234" }))?.responseTimeMs).toBe(1234);
    expect(parseAccessLogLine(line({ request_time: "0.000" }))?.responseTimeMs).toBe(0);
    expect(parseAccessLogLine(line({ request_time: "2" }))?.responseTimeMs).toBe(2000);
  });

  test("a line without a required field, or with a malformed one, is not an entry", () => {
    const required = [
      "time",
      "remote_addr",
      "method",
      "uri",
      "protocol",
      "host",
      "status",
      "body_bytes_sent",
      "request_time",
    ];
    for (const field of required) {
      const fields = JSON.parse(line()) as Record<string, string>;
      delete fields[field];
      expect(parseAccessLogLine(JSON.stringify(fields))).toBeUndefined();
    }
    for (const [field, value] of [
      ["status", "000"],
      ["status", "abc"],
      ["status", "2000"],
      ["body_bytes_sent", "-1"],
      ["request_length", "-1"],
      ["request_length", "1e3"],
      ["request_length", ""],
      ["request_time", "-"],
      ["time", "yesterday"],
    ]) {
      expect(parseAccessLogLine(line({ [field as string]: value as string }))).toBeUndefined();
    }
    for (const text of ["", "not json", "[1,2]", "null", '"x"', "{}", '{"status":200}']) {
      expect(parseAccessLogLine(text)).toBeUndefined();
    }
  });

  test("a line from a log format older than request_length counts 0 request bytes", () => {
    const fields = JSON.parse(line()) as Record<string, string>;
    delete fields.request_length;
    expect(parseAccessLogLine(JSON.stringify(fields))?.requestBytes).toBe(0);
  });

  test("the optional fields may be missing; empty means null", () => {
    const fields = JSON.parse(line()) as Record<string, string>;
    for (const field of ["user_agent", "referer", "request_id", "upstream_addr"])
      delete fields[field];
    const entry = parseAccessLogLine(JSON.stringify(fields));
    expect(entry).toMatchObject({ userAgent: null, referer: null, requestId: null });
    expect(entry?.upstreamAddr).toBeNull();
  });
});

describe("createAccessLogTailer", () => {
  test("starts at the end of an existing file: history is not shipped", async () => {
    await writeFile(logPath, request(1) + request(2));
    const { tailer, batches, uris } = tail();
    await tailer.start();
    await appendFile(logPath, request(3) + request(4));
    await waitFor("two entries", () => uris().length === 2, soon);
    expect(uris()).toEqual(["/r3", "/r4"]);
    const info = await stat(logPath);
    const last = batches.at(-1) as AccessLogBatch;
    expect(last.offset).toBe(info.size);
    expect(last.inode).toBe(info.ino);
  });

  test("waits for a file that does not exist yet, then reads all of it", async () => {
    const { tailer, uris } = tail();
    await tailer.start();
    await pause(40);
    await writeFile(logPath, request(1) + request(2));
    await waitFor("two entries", () => uris().length === 2, soon);
    expect(uris()).toEqual(["/r1", "/r2"]);
  });

  test("keeps a partial last line until its newline arrives (even mid-character)", async () => {
    await writeFile(logPath, "");
    const { tailer, batches, uris } = tail();
    await tailer.start();
    const bytes = Buffer.from(line({ uri: "/caf\u00e9/\u2713" }));
    const cut = bytes.indexOf(0xa9); // second byte of "é"
    await appendFile(logPath, bytes.subarray(0, cut));
    await pause(60);
    expect(uris()).toEqual([]);
    await appendFile(logPath, bytes.subarray(cut, bytes.length - 1));
    await pause(60);
    expect(uris()).toEqual([]);
    await appendFile(logPath, "\n");
    await waitFor("the entry", () => uris().length === 1, soon);
    expect(uris()).toEqual(["/caf\u00e9/\u2713"]);
    expect(batches.at(-1)?.offset).toBe(bytes.length);
    expect(batches.reduce((sum, batch) => sum + batch.skipped, 0)).toBe(0);
  });

  test("the batch offset stops before a partial line", async () => {
    await writeFile(logPath, "");
    const { tailer, batches, uris } = tail();
    await tailer.start();
    const whole = request(1);
    await appendFile(logPath, `${whole}{"time":"2024-`);
    await waitFor("the entry", () => uris().length === 1, soon);
    expect(batches.at(-1)?.offset).toBe(Buffer.byteLength(whole));
  });

  test("rotation: finishes the renamed file, then reads the new one from its start", async () => {
    await writeFile(logPath, "");
    const { tailer, batches, uris } = tail();
    await tailer.start();
    await appendFile(logPath, request(1));
    await waitFor("the first entry", () => uris().length === 1, soon);
    const rotated = `${logPath}.1`;
    await rename(logPath, rotated);
    // nginx keeps writing to the renamed file until it reopens its logs.
    await appendFile(rotated, request(2));
    await pause(40);
    await appendFile(rotated, request(3));
    await writeFile(logPath, request(4) + request(5));
    await waitFor("five entries", () => uris().length === 5, soon);
    expect(uris()).toEqual(["/r1", "/r2", "/r3", "/r4", "/r5"]);
    const info = await stat(logPath);
    expect(batches.at(-1)).toMatchObject({ inode: info.ino, offset: info.size });
  });

  test("rotation with the new file already there before the next poll", async () => {
    await writeFile(logPath, request(1));
    const { tailer, uris } = tail({ pollIntervalMs: 200 });
    await tailer.start();
    await appendFile(logPath, request(2));
    await rename(logPath, `${logPath}.1`);
    await writeFile(logPath, request(3));
    await waitFor("two entries", () => uris().length === 2, soon);
    expect(uris()).toEqual(["/r2", "/r3"]);
  });

  test("truncation: reads the file again from 0", async () => {
    await writeFile(logPath, request(1) + request(2) + request(3));
    const { tailer, batches, uris } = tail();
    await tailer.start();
    await writeFile(logPath, request(4));
    await waitFor("the entry after truncation", () => uris().length === 1, soon);
    expect(uris()).toEqual(["/r4"]);
    expect(batches.at(-1)?.offset).toBe(Buffer.byteLength(request(4)));
  });

  test("garbage and incomplete lines are counted as skipped, never thrown", async () => {
    await writeFile(logPath, "");
    const { tailer, uris, skipped } = tail();
    await tailer.start();
    await appendFile(
      logPath,
      `${[
        "not json at all",
        "[1,2,3]",
        "{}",
        '{"time":"2024-05-01T00:00:00+00:00","status":"200"}',
        line({ status: "000" }).trim(),
        "",
        "{broken",
      ].join("\n")}\n${request(1)}\u0000\u0001\n${request(2)}`,
    );
    await waitFor("two entries", () => uris().length === 2, soon);
    await waitFor("the skipped count", () => skipped() === 7, soon);
    expect(uris()).toEqual(["/r1", "/r2"]);
  });

  test("a line longer than maxLineBytes is skipped and the next one read", async () => {
    await writeFile(logPath, "");
    const { tailer, uris, skipped } = tail({ maxLineBytes: 1000 });
    await tailer.start();
    await appendFile(logPath, line({ uri: `/${"x".repeat(600)}` }).trimEnd());
    await pause(40);
    await appendFile(logPath, "y".repeat(600));
    await pause(40);
    await appendFile(logPath, `\n${request(1)}`);
    await waitFor("the next entry", () => uris().length === 1, soon);
    expect(uris()).toEqual(["/r1"]);
    expect(skipped()).toBe(1);
  });

  test("a failing onBatch keeps the entries and retries them on the next flush", async () => {
    await writeFile(logPath, "");
    const attempts: AccessLogBatch[] = [];
    const delivered: string[] = [];
    let failures = 2;
    const { tailer } = tail({
      flushIntervalMs: 30,
      onBatch: (batch) => {
        attempts.push(batch);
        if (failures > 0) {
          failures -= 1;
          return Promise.reject(new Error("server unavailable"));
        }
        delivered.push(...batch.entries.map((entry) => entry.uri));
        return Promise.resolve();
      },
    });
    await tailer.start();
    await appendFile(logPath, request(1) + request(2));
    await waitFor("a failed attempt", () => attempts.length >= 1, soon);
    await appendFile(logPath, `garbage\n${request(3)}`);
    await waitFor("all three delivered", () => delivered.length === 3, soon);
    expect(delivered).toEqual(["/r1", "/r2", "/r3"]);
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    const success = attempts[2] as AccessLogBatch;
    expect(success.skipped).toBe(1);
    expect(success.dropped).toBe(0);
  });

  test("while onBatch fails the buffer is bounded: the oldest are dropped and counted", async () => {
    await writeFile(logPath, "");
    let failing = true;
    const delivered: AccessLogBatch[] = [];
    const { tailer } = tail({
      maxBuffered: 3,
      maxBatch: 100,
      flushIntervalMs: 30,
      onBatch: (batch) => {
        if (failing) return Promise.reject(new Error("down"));
        delivered.push(batch);
        return Promise.resolve();
      },
    });
    await tailer.start();
    await appendFile(logPath, [1, 2, 3, 4, 5].map(request).join(""));
    await pause(100);
    failing = false;
    await waitFor("a delivery", () => delivered.length === 1, soon);
    expect(delivered[0]?.entries.map((entry) => entry.uri)).toEqual(["/r3", "/r4", "/r5"]);
    expect(delivered[0]?.dropped).toBe(2);
    expect(delivered[0]?.offset).toBe((await stat(logPath)).size);
  });

  test("maxBatch: a backlog goes out in batches, each ending at its own last line", async () => {
    const lines = Array.from({ length: 25 }, (_, i) => request(i + 1));
    await writeFile(logPath, lines.join(""));
    const { tailer, batches } = tail({ maxBatch: 10, flushIntervalMs: 60_000, startOffset: 0 });
    await tailer.start();
    await waitFor("two full batches", () => batches.length === 2, soon);
    await tailer.stop();
    expect(batches.map((batch) => batch.entries.length)).toEqual([10, 10, 5]);
    const ends = [10, 20, 25].map((n) => Buffer.byteLength(lines.slice(0, n).join("")));
    expect(batches.map((batch) => batch.offset)).toEqual(ends);
  });

  test("flushIntervalMs is measured on the injected clock", async () => {
    await writeFile(logPath, "");
    let now = 1_000_000;
    const { tailer, batches } = tail({
      flushIntervalMs: 5000,
      clock: { now: () => new Date(now) },
    });
    await tailer.start();
    await appendFile(logPath, request(1));
    await pause(80);
    expect(batches).toEqual([]);
    now += 5000;
    await waitFor("the flush", () => batches.length === 1, soon);
  });

  test("startOffset resumes where a persisted batch ended", async () => {
    await writeFile(logPath, request(1) + request(2) + request(3));
    const info = await stat(logPath);
    const first = Buffer.byteLength(request(1));
    const resumed = tail({ startOffset: first, startInode: info.ino });
    await resumed.tailer.start();
    await waitFor("two entries", () => resumed.uris().length === 2, soon);
    expect(resumed.uris()).toEqual(["/r2", "/r3"]);
  });

  test("startOffset in another file (rotated meanwhile) or past its end reads from 0", async () => {
    await writeFile(logPath, request(1) + request(2));
    const info = await stat(logPath);
    const otherInode = tail({ startOffset: 10, startInode: info.ino + 1 });
    await otherInode.tailer.start();
    await waitFor("two entries", () => otherInode.uris().length === 2, soon);
    expect(otherInode.uris()).toEqual(["/r1", "/r2"]);
    const pastEnd = tail({ startOffset: info.size + 100 });
    await pastEnd.tailer.start();
    await waitFor("two entries", () => pastEnd.uris().length === 2, soon);
    expect(pastEnd.uris()).toEqual(["/r1", "/r2"]);
  });

  test("stop flushes; start again resumes after the last line read", async () => {
    await writeFile(logPath, "");
    const { tailer, uris } = tail({ flushIntervalMs: 60_000 });
    await tailer.start();
    await appendFile(logPath, request(1));
    await tailer.stop();
    expect(uris()).toEqual(["/r1"]);
    await appendFile(logPath, request(2));
    await tailer.start();
    await appendFile(logPath, request(3));
    await tailer.stop();
    expect(uris()).toEqual(["/r1", "/r2", "/r3"]);
  });

  test("refuses nonsensical options", () => {
    expect(() => createAccessLogTailer({ path: logPath, onBatch: () => {}, maxBatch: 0 })).toThrow(
      "maxBatch",
    );
    expect(() =>
      createAccessLogTailer({ path: logPath, onBatch: () => {}, startOffset: -1 }),
    ).toThrow("startOffset");
  });
});

describe("summarizeAccessLog", () => {
  const entry = (status: number, bodyBytesSent = 100) => ({ status, bodyBytesSent });

  test("counts status classes, bytes, rate and the 5xx share", () => {
    const entries = [
      entry(101, 0),
      entry(200),
      entry(204, 0),
      entry(301),
      entry(404),
      entry(499, 0),
      entry(500),
      entry(503),
      entry(200),
      entry(200),
    ];
    expect(summarizeAccessLog(entries, 5)).toEqual({
      requests: 10,
      requestsPerSecond: 2,
      status1xx: 1,
      status2xx: 4,
      status3xx: 1,
      status4xx: 2,
      status5xx: 2,
      bytesSent: 700,
      errorRate: 0.2,
    });
  });

  test("an empty window is all zeros", () => {
    expect(summarizeAccessLog([], 60)).toMatchObject({
      requests: 0,
      requestsPerSecond: 0,
      errorRate: 0,
    });
    expect(summarizeAccessLog([entry(200)], 0).requestsPerSecond).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// The real nginx, with the log_format the compiler emits.

function findNginx(): string | undefined {
  for (const directory of (process.env.PATH ?? "").split(delimiter)) {
    if (directory && existsSync(join(directory, "nginx"))) return join(directory, "nginx");
  }
  return existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : undefined;
}

const nginxBinary = findNginx();

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.setTimeout(500);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** One request written byte for byte, for what fetch would percent-encode. */
function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let response = "";
    socket.setTimeout(5000, () => socket.destroy(new Error("raw request timed out")));
    socket.on("data", (chunk) => {
      response += chunk.toString("latin1");
    });
    socket.on("end", () => resolve(response));
    socket.on("error", reject);
    socket.write(Buffer.from(head, "utf8"));
  });
}

let nginx: ChildProcess | undefined;
let nginxPrefix: string | undefined;

afterAll(async () => {
  await closeAll();
  const master = nginx;
  if (master?.pid !== undefined && master.exitCode === null && master.signalCode === null) {
    const exited = new Promise<void>((resolve) => master.once("exit", () => resolve()));
    master.kill("SIGQUIT");
    const stopped = await Promise.race([exited.then(() => true), pause(5000).then(() => false)]);
    if (!stopped) {
      for (const worker of await childPids(master.pid)) {
        try {
          process.kill(worker, "SIGKILL");
        } catch {}
      }
      master.kill("SIGKILL");
    }
  }
  if (nginxPrefix) await rm(nginxPrefix, { recursive: true, force: true });
});

describe("with a real nginx", () => {
  test.skipIf(nginxBinary === undefined)(
    "entries from nginx's own drover_json lines, escape=json included",
    async () => {
      const prefix = await realpath(await mkdtemp(join(tmpdir(), "drover-access-log-nginx-")));
      nginxPrefix = prefix;
      // Workers may run as another user (nobody, under root): mkdtemp's 0700 would lock them out.
      await chmod(prefix, 0o755);
      for (const sub of ["logs", "html", "tmp"]) await mkdir(join(prefix, sub));
      const index = "<h1>hello</h1>\n";
      await writeFile(join(prefix, "html", "index.html"), index);
      const port = await freePort();
      const echo = await backend("echo");
      const statusPort = await freePort();
      const accessLog = join(prefix, "logs", "access.log");
      const compiled = compileNginxConfig(
        {
          global: { workerProcesses: 1, accessLogPath: accessLog },
          virtualHosts: [
            {
              id: "site",
              serverNames: ["localhost"],
              listenPort: port,
              locations: [
                { path: "/", root: join(prefix, "html") },
                // Proxied: nginx reads the whole body before it logs (a 405 would not).
                { path: "/echo", proxyPass: `http://${echo.address}` },
              ],
            },
          ],
        },
        {
          statusPort,
          certificateAvailable: () => true,
          resolvable: () => true,
          // The only server on the port, so it answers whatever Host is sent.
          defaultServers: false,
          runtime: {
            pidPath: join(prefix, "logs", "nginx.pid"),
            errorLogPath: join(prefix, "logs", "error.log"),
            tempDir: join(prefix, "tmp"),
          },
        },
      );
      const config = join(prefix, "nginx.conf");
      await writeFile(config, (compiled.files[0] as { content: string }).content);

      let stderr = "";
      const master = spawn(
        nginxBinary as string,
        ["-p", `${prefix}/`, "-c", config, "-g", "daemon off;"],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      nginx = master;
      master.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const deadline = Date.now() + 10_000;
      while (!(await accepts(port))) {
        if (master.exitCode !== null || Date.now() > deadline) {
          throw new Error(`nginx did not start: ${stderr}`);
        }
        await pause(50);
      }

      const entries: AccessLogEntry[] = [];
      let skipped = 0;
      const { tailer } = tail({
        path: accessLog,
        onBatch: (batch) => {
          skipped += batch.skipped;
          entries.push(...batch.entries);
        },
      });
      await tailer.start();

      const base = `http://127.0.0.1:${port}`;
      const ok = await fetch(`${base}/`, { headers: { "user-agent": "drover-test/1" } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe(index);
      const missing = await fetch(`${base}/missing`);
      expect(missing.status).toBe(404);
      await missing.text();
      const query = new URL(`${base}/search?q="quoted"&name=\u00fcn\u00ef\u2713&x='a b'`);
      const queried = await fetch(query);
      expect(queried.status).toBe(404);
      await queried.text();
      const postBody = "x".repeat(3000);
      const posted = await fetch(`${base}/echo`, { method: "POST", body: postBody });
      expect(posted.status).toBe(200);
      await posted.text();
      // Raw bytes fetch would encode: quotes, a backslash, UTF-8 in the URI and headers.
      const rawUri = '/raw?q="a\\b"&u=\u00fc\u2713';
      const rawAgent = 'agent "quoted" \\ \u00fc\u2713';
      const response = await rawRequest(
        port,
        `GET ${rawUri} HTTP/1.1\r\nHost: raw.test\r\nUser-Agent: ${rawAgent}\r\n` +
          `Referer: http://ref.test/"x"\r\nConnection: close\r\n\r\n`,
      );
      expect(response.startsWith("HTTP/1.1 404")).toBe(true);

      await waitFor("five entries from nginx", () => entries.length === 5, {
        ...soon,
        timeoutMs: 10_000,
      });
      await tailer.stop();
      expect(skipped).toBe(0);

      const [root, notFound, search, post, raw] = entries as [
        AccessLogEntry,
        AccessLogEntry,
        AccessLogEntry,
        AccessLogEntry,
        AccessLogEntry,
      ];
      expect(root).toMatchObject({
        method: "GET",
        uri: "/",
        protocol: "HTTP/1.1",
        host: "127.0.0.1",
        remoteAddr: "127.0.0.1",
        status: 200,
        bodyBytesSent: Buffer.byteLength(index),
        userAgent: "drover-test/1",
        referer: null,
        upstreamAddr: null,
      });
      expect(root.requestId).toMatch(/^[0-9a-f]{32}$/);
      expect(root.responseTimeMs).toBeGreaterThanOrEqual(0);
      expect(Math.abs(root.timestamp.getTime() - Date.now())).toBeLessThan(60_000);
      expect(notFound).toMatchObject({ method: "GET", uri: "/missing", status: 404 });
      expect(search).toMatchObject({
        method: "GET",
        uri: `${query.pathname}${query.search}`,
        status: 404,
      });
      expect(post).toMatchObject({ method: "POST", uri: "/echo", status: 200 });
      expect(post.upstreamAddr).toBe(echo.address);
      // $request_length: the request line and headers on top of the body.
      expect(post.requestBytes).toBeGreaterThan(postBody.length);
      expect(root.requestBytes).toBeGreaterThan(0);
      expect(root.requestBytes).toBeLessThan(postBody.length);
      expect(raw).toMatchObject({
        method: "GET",
        uri: rawUri,
        host: "raw.test",
        status: 404,
        userAgent: rawAgent,
        referer: 'http://ref.test/"x"',
      });
    },
  );
});
