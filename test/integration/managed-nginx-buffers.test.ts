// Issue 10, first hour: a managed nginx under a root agent spills big request bodies and responses to temp files its unprivileged workers can reach.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { type DeliveryFixture, startDeliveryFixture } from "../support/delivery-fixture.ts";
import { closeAll, listen, portOf, sleep } from "../support/loopback.ts";

setDefaultTimeout(90_000);

const runFile = promisify(execFile);
/** Past nginx's 16 KiB client_body_buffer_size: nginx writes the body to client_body_temp_path. */
const bodyBytes = 100 * 1024;
/** Far past proxy_buffers and a stalled client's socket buffers: nginx writes the rest to proxy_temp_path. */
const responseBytes = 4 * 1024 * 1024;
const runsAsRoot = process.getuid?.() === 0;

let fixture: DeliveryFixture;
let port: number;
/** Resolves when the backend has handed the whole big response to the kernel. */
let responseSent: Promise<void> = Promise.resolve();

beforeAll(async () => {
  fixture = await startDeliveryFixture({ name: "buffers" });
  // POST: answers how many body bytes arrived; GET: answers responseBytes bytes.
  const upstreamServer = await listen((req, res) => {
    if (req.method === "POST") {
      let received = 0;
      req.on("data", (chunk: Buffer) => {
        received += chunk.length;
      });
      req.on("end", () => res.end(`received ${received}`));
      return;
    }
    responseSent = new Promise((resolve) => res.once("finish", resolve));
    res.setHeader("content-type", "application/octet-stream");
    res.setHeader("content-length", responseBytes);
    res.end(Buffer.alloc(responseBytes, "r"));
  });
  port = await fixture.proxy("sizes", `127.0.0.1:${portOf(upstreamServer)}`);
});

afterAll(async () => {
  await fixture?.stop();
  await closeAll();
});

/**
 * A GET through the agent's nginx from a client that reads nothing until the
 * backend has sent the whole response: nginx must hold what the client's
 * socket does not take, on disk. Returns the status code and the body bytes
 * that arrived before nginx closed the connection.
 */
async function stalledGet(): Promise<{ status: number; bodyBytes: number; allR: boolean }> {
  const socket = connect(port, "127.0.0.1");
  socket.pause();
  // HTTP/1.0: the body comes unchunked, ended by the close.
  socket.write("GET / HTTP/1.0\r\nHost: sizes.test\r\n\r\n");
  await responseSent;
  // Time for nginx to drain the backend's socket into its buffers and temp file.
  await sleep(300);
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.resume();
  await new Promise<void>((resolve, reject) => {
    socket.setTimeout(20_000, () => socket.destroy(new Error("no end within 20 s")));
    socket.once("close", () => resolve());
    socket.once("error", reject);
  });
  const answer = Buffer.concat(chunks);
  const headerEnd = answer.indexOf("\r\n\r\n");
  const body = answer.subarray(headerEnd + 4);
  return {
    status: Number(answer.subarray(9, 12).toString()),
    bodyBytes: body.length,
    allR: !body.some((byte) => byte !== 0x72),
  };
}

test("a 100 KiB request body reaches the backend whole", async () => {
  const bodyFile = join(fixture.dir, "body.bin");
  writeFileSync(bodyFile, Buffer.alloc(bodyBytes, "b"));
  // curl, an independent client, sends it.
  const { stdout } = await runFile("curl", [
    "-s",
    "--max-time",
    "20",
    "-H",
    "Host: sizes.test",
    "-w",
    " %{http_code}",
    "--data-binary",
    `@${bodyFile}`,
    `http://127.0.0.1:${port}/`,
  ]);
  expect(stdout).toBe(`received ${bodyBytes} 200`);
});

test("a 4 MiB response reaches a client that reads it late, whole", async () => {
  expect(await stalledGet()).toEqual({ status: 200, bodyBytes: responseBytes, allR: true });
});

test("nginx logged no failure", () => {
  const log = readFileSync(fixture.agent.nginx?.runtime.errorLogPath as string, "utf8");
  expect(log.split("\n").filter((line) => /\[(crit|alert|emerg)\]/.test(line))).toEqual([]);
});

test.skipIf(!runsAsRoot)(
  "as root, the temp files live outside the 0700 data dir, in a root-owned 0711 directory of this agent's",
  () => {
    // Root only: as any other user nginx's workers run as that user and the in-prefix temp dir serves.
    const tempDir = fixture.agent.nginx?.runtime.tempDir as string;
    const dataDir = join(fixture.dir, "agent");
    expect(tempDir).toStartWith("/var/cache/drover/nginx-");
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const root = statSync(tempDir);
    expect(root.uid).toBe(0);
    expect(root.mode & 0o777).toBe(0o711);
    // nginx made each kind's directory itself, for its worker user, closed to everyone else.
    expect(readdirSync(tempDir).sort()).toEqual([
      "client_body",
      "fastcgi",
      "proxy",
      "scgi",
      "uwsgi",
    ]);
    for (const kind of ["client_body", "proxy"]) {
      const dir = statSync(join(tempDir, kind));
      expect(dir.uid).not.toBe(0);
      expect(dir.mode & 0o777).toBe(0o700);
    }
  },
);
