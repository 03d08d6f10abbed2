/**
 * Registration clients in their own process, for bench/registration.ts:
 * `bun bench/registration-client.ts`, with one JSON line on stdin
 * ({ address, caPem, tokens, concurrency, connection }; tokens stay out of argv, which `ps` shows).
 * It makes one key pair and CSR per token first and prints
 * `ready {"generateMs":…}`, waits for a `go` line, then works `concurrency` at a time and
 * prints `done {"latenciesMs":[…],"cpuMs":…,"failures":…,"firstError":…}`. Exits when stdin closes.
 * `connection` says what each unit of work is:
 * - "fresh": a new TLS connection per Register RPC, closed after it (what a joining agent pays);
 * - "reused": Register RPCs over one warmed HTTP/2 connection per worker;
 * - "handshake": a TLS handshake (ALPN h2) and nothing else, one per token: the ceiling baseline.
 */
import "reflect-metadata";
import { createInterface } from "node:readline";
import { connect } from "node:tls";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Role } from "../lib/gen/drover/v1/identity_pb.ts";
import { RegistrationService } from "../lib/gen/drover/v1/registration_pb.ts";
import { parseHostPort } from "../lib/net/index.ts";
import { createCertificateRequest, generateKeyPair } from "../lib/pki/index.ts";
import { grpcTransport } from "../lib/transport/index.ts";
import type { ConnectionMode } from "./registration-clients.ts";

interface Job {
  address: string;
  caPem: string;
  tokens: string[];
  concurrency: number;
  connection: ConnectionMode;
}

const lines = createInterface({ input: process.stdin });
const nextLine = (() => {
  const queue: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  lines.on("line", (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else queue.push(line);
  });
  // The bench process died or is done with us: stop at once.
  lines.on("close", () => process.exit(0));
  return (): Promise<string | undefined> => {
    const line = queue.shift();
    return line !== undefined ? Promise.resolve(line) : new Promise((r) => waiting.push(r));
  };
})();

const job = JSON.parse((await nextLine()) ?? "{}") as Job;
const { host, port } = parseHostPort(job.address, "address");
const baseUrl = `https://${job.address}`;
const nodeOptions = { ca: job.caPem, rejectUnauthorized: true };

// Client key generation is the agents' cost, not the server's: done before the clock starts.
const generateStart = performance.now();
const csrs: Uint8Array[] = [];
if (job.connection !== "handshake") {
  for (const _ of job.tokens) csrs.push(await createCertificateRequest(await generateKeyPair()));
}
const generateMs = performance.now() - generateStart;

type RegistrationClient = Client<typeof RegistrationService>;

function register(client: RegistrationClient, index: number): Promise<unknown> {
  return client
    .register({
      token: job.tokens[index] as string,
      role: Role.AGENT,
      csr: csrs[index] as Uint8Array,
      hostname: `bench-${process.pid}-${index}.example`,
      version: "bench",
    })
    .then((response) => {
      if (!response.certificate) throw new Error("register returned no certificate");
    });
}

/** One Register RPC on a connection of its own, closed once answered. */
async function registerFresh(index: number): Promise<unknown> {
  const sessionManager = new Http2SessionManager(baseUrl, {}, nodeOptions);
  const client = createClient(
    RegistrationService,
    createGrpcTransport({ baseUrl, acceptCompression: [], sessionManager }),
  );
  try {
    return await register(client, index);
  } finally {
    sessionManager.abort();
  }
}

/** A TLS handshake as the agent's would be (verified, ALPN h2), then close. */
function handshake(): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ...nodeOptions, ALPNProtocols: ["h2"] }, () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once("error", reject);
  });
}

// Warm-up that spends no token: each worker's connection (reused) or the JIT (fresh, handshake).
const reused: RegistrationClient[] = [];
if (job.connection === "reused") {
  for (let i = 0; i < job.concurrency; i++) {
    reused.push(
      createClient(RegistrationService, grpcTransport(job.address, { caPem: job.caPem })),
    );
  }
  await Promise.all(reused.map((client) => client.getCABundle({})));
} else {
  for (let i = 0; i < job.concurrency; i++) await handshake();
}
process.stdout.write(`ready ${JSON.stringify({ generateMs })}\n`);

if ((await nextLine()) !== "go") process.exit(2);

const unit: (worker: number, index: number) => Promise<unknown> =
  job.connection === "reused"
    ? (worker, index) => register(reused[worker] as RegistrationClient, index)
    : job.connection === "fresh"
      ? (_, index) => registerFresh(index)
      : () => handshake();

const cpuBefore = process.cpuUsage();
const latenciesMs: number[] = [];
let failures = 0;
let firstError: string | undefined;
let next = 0;
async function worker(workerIndex: number): Promise<void> {
  while (next < job.tokens.length) {
    const index = next++;
    const started = performance.now();
    try {
      await unit(workerIndex, index);
      latenciesMs.push(performance.now() - started);
    } catch (error) {
      failures += 1;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
}
await Promise.all(Array.from({ length: job.concurrency }, (_, i) => worker(i)));
const cpu = process.cpuUsage(cpuBefore);
const cpuMs = (cpu.user + cpu.system) / 1000;
process.stdout.write(`done ${JSON.stringify({ latenciesMs, cpuMs, failures, firstError })}\n`);
await nextLine();
process.exit(0);
