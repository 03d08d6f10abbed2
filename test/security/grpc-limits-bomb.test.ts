// Audit issue 9, item 1 (High): a compressed Register bomb against the real binary costs it no memory.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Harness, type ServerProcess } from "../e2e/harness.ts";
import { httpsClient } from "../support/https-client.ts";
import {
  compressedRegisterBomb,
  grpcFrame,
  rawGrpcCall,
  rawGrpcSession,
} from "../support/raw-grpc.ts";

const register = "/drover.v1.RegistrationService/Register";
const unpackedBytes = 256 * 1024 * 1024;
/** Far below one inflated bomb (256 MiB); above what a few requests cost a warm server. */
const rssGrowthBoundBytes = 48 * 1024 * 1024;

let harness: Harness;
let server: ServerProcess;
let caPem: string;

beforeAll(async () => {
  harness = await Harness.create("grpc-bomb");
  server = await harness.startServer();
  caPem = readFileSync(join(harness.dataDir, "ca.pem"), "utf8");
});
afterAll(async () => {
  await harness.cleanup();
});

function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

test("brotli and gzip bombs are refused; RSS stays flat and /healthz keeps answering", async () => {
  const bombs = {
    br: await compressedRegisterBomb("br", unpackedBytes),
    // deflate tops out near 1:1000, so a smaller inflated size keeps the request small.
    gzip: await compressedRegisterBomb("gzip", 64 * 1024 * 1024),
  };
  const healthz = httpsClient(`https://${server.endpoints.http}`, { caPem });
  const session = rawGrpcSession(server.endpoints.registration, caPem);
  try {
    // Warm up both listeners so the baseline includes TLS and handler set-up.
    expect((await healthz("GET", "/healthz")).status).toBe(200);
    await rawGrpcCall(
      session,
      "/drover.v1.RegistrationService/GetCABundle",
      grpcFrame(new Uint8Array()),
    );
    const before = rssBytes(server.pid);

    let slowestHealthzMs = 0;
    let attacking = true;
    const probing = (async () => {
      while (attacking) {
        const started = performance.now();
        expect((await healthz("GET", "/healthz")).status).toBe(200);
        slowestHealthzMs = Math.max(slowestHealthzMs, performance.now() - started);
        await Bun.sleep(20);
      }
    })();
    const results = await Promise.all(
      (["br", "gzip", "br", "gzip"] as const).map((encoding) =>
        rawGrpcCall(session, register, grpcFrame(bombs[encoding], true), {
          "grpc-encoding": encoding,
        }),
      ),
    );
    attacking = false;
    await probing;

    for (const result of results) {
      expect(result.status).toBe(12);
      expect(result.message).toContain("unknown compression");
    }
    expect(rssBytes(server.pid) - before).toBeLessThan(rssGrowthBoundBytes);
    expect(slowestHealthzMs).toBeLessThan(500);
  } finally {
    session.destroy();
  }
}, 30_000);
