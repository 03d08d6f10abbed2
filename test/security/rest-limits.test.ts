// Audit issue 9, items 3, 4 and 6: REST body limits, rate limit before authentication, 415 for non-JSON.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { request } from "node:https";
import type { Logger } from "../../lib/log/index.ts";
import { type AdminRest, adminRest } from "../support/admin-rest.ts";
import { type HttpResult, httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";

setDefaultTimeout(30_000);

const errorLogs: string[] = [];
const logger: Logger = { info() {}, warn() {}, error: (message) => errorLogs.push(message) };
let fleet: InProcessFleet;
let caPem: string;
let call: ReturnType<typeof httpsClient>;
let admin: AdminRest;

/**
 * One POST whose headers and body the test controls: `chunks` are written one
 * by one (chunked unless a content-length is given) while the answer may
 * already be coming; without chunks the body is never sent. Resolves with the
 * status, the error body and how many chunks went out.
 */
function rawRequest(
  path: string,
  headers: Record<string, string>,
  chunks: Buffer[] = [],
): Promise<{ status: number; body: { error?: { code: string } }; chunksSent: number }> {
  return new Promise((resolve, reject) => {
    let chunksSent = 0;
    let answered = false;
    const req = request(
      new URL(path, `https://${fleet.server.endpoints.http}`),
      { method: "POST", ca: caPem, headers, agent: false },
      (res) => {
        answered = true;
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), chunksSent });
          req.destroy();
        });
      },
    );
    // The server may close while the client still writes: that is the point.
    req.on("error", (error) => (answered ? undefined : reject(error)));
    req.setTimeout(5_000, () => req.destroy(new Error(`POST ${path} got no answer in 5 s`)));
    req.flushHeaders();
    const writeNext = () => {
      if (answered || req.destroyed) return;
      const chunk = chunks[chunksSent];
      if (!chunk) return req.end();
      chunksSent++;
      req.write(chunk, () => setTimeout(writeNext, 5));
    };
    if (chunks.length > 0) writeNext();
  });
}

beforeAll(async () => {
  fleet = await startInProcessFleet({ rateLimitPerMinute: 50, logger });
  caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
  call = httpsClient(`https://${fleet.server.endpoints.http}`, { caPem });
  admin = await adminRest(fleet, { organization: "limits", workspace: "limits" });
});
afterAll(() => fleet.stop());

describe("request bodies are limited per route", () => {
  test("Content-Length of 50 MB to /v1/auth/login: 413 at once, nothing read", async () => {
    const started = performance.now();
    const answer = await rawRequest("/v1/auth/login", {
      "content-type": "application/json",
      "content-length": String(50 * 1024 * 1024),
    });
    expect(answer.status).toBe(413);
    expect(answer.body.error?.code).toBe("PAYLOAD_TOO_LARGE");
    // No byte of the body was sent: the answer cannot have waited for it.
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  test("a chunked body is cut off once it crosses the limit", async () => {
    const chunk = Buffer.alloc(16 * 1024, "a");
    const chunks = [Buffer.from('{"email":"'), ...Array.from({ length: 64 }, () => chunk)];
    const answer = await rawRequest(
      "/v1/auth/login",
      { "content-type": "application/json" },
      chunks,
    );
    expect(answer.status).toBe(413);
    expect(answer.body.error?.code).toBe("PAYLOAD_TOO_LARGE");
    // The server answered after about 64 KiB, long before the 1 MiB was written.
    expect(answer.chunksSent).toBeLessThan(chunks.length);
  });

  test("a route that needs more takes more: a 900 KiB file is accepted", async () => {
    const created = await admin.rest("POST", `/v1/workspaces/${admin.workspaceId}/files`, {
      name: "big-data",
      kind: "file",
      path: "big/data.txt",
      content: "x".repeat(900 * 1024),
    });
    expect({ status: created.status, body: created.body }).toMatchObject({ status: 201 });
  });
});

describe("a body that is not JSON", () => {
  test.each([
    ["text/plain", { "content-type": "text/plain" }],
    ["no content-type", {}],
  ])("%s: 415 UNSUPPORTED_MEDIA_TYPE, nothing logged as an error", async (_name, headers) => {
    const payload = Buffer.from(JSON.stringify({ email: "a@b.example", password: "x" }));
    const answer = await rawRequest(
      "/v1/auth/login",
      { ...headers, "content-length": String(payload.length) },
      [payload],
    );
    expect(answer.status).toBe(415);
    expect(answer.body.error?.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(errorLogs).toEqual([]);
  });
});

// Last: it uses up this address's allowance for the minute.
test("invalid bearer tokens run out the address's allowance before authentication: 429", async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 15; i++) {
    statuses.push((await call("GET", "/v1/organizations", { token: `invalid-${i}` })).status);
  }
  // 50 requests a minute per user, 200 per address, a failed authentication costs 20.
  expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
  expect(statuses.at(-1)).toBe(429);
  const { email, password } = fleet.server.firstAdmin as { email: string; password: string };
  const login: HttpResult = await call("POST", "/v1/auth/login", { body: { email, password } });
  expect(login.status).toBe(429);
  expect(Number(login.headers["retry-after"])).toBeGreaterThan(0);
});
