/**
 * Registration clients in their own process, for bench/registration.ts:
 * `bun bench/registration-client.ts`, with one JSON line on stdin
 * ({ address, caPem, tokens, concurrency }; tokens stay out of argv, which `ps` shows).
 * It makes one key pair and CSR per token first and prints
 * `ready {"generateMs":…}`, waits for a `go` line, then registers `concurrency`
 * at a time over one warmed HTTP/2 connection per worker and prints
 * `done {"latenciesMs":[…],"failures":…,"firstError":…}`. Exits when stdin closes.
 */
import "reflect-metadata";
import { createInterface } from "node:readline";
import { type Client, createClient } from "@connectrpc/connect";
import { Role } from "../lib/gen/drover/v1/identity_pb.ts";
import { RegistrationService } from "../lib/gen/drover/v1/registration_pb.ts";
import { createCertificateRequest, generateKeyPair } from "../lib/pki/index.ts";
import { grpcTransport } from "../lib/transport/index.ts";

interface Job {
  address: string;
  caPem: string;
  tokens: string[];
  concurrency: number;
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

// Client key generation is the agents' cost, not the server's: done before the clock starts.
const generateStart = performance.now();
const csrs: Uint8Array[] = [];
for (const _ of job.tokens) csrs.push(await createCertificateRequest(await generateKeyPair()));
const generateMs = performance.now() - generateStart;

type RegistrationClient = Client<typeof RegistrationService>;
const clients: RegistrationClient[] = Array.from({ length: job.concurrency }, () =>
  createClient(RegistrationService, grpcTransport(job.address, { caPem: job.caPem })),
);
// Opens each worker's connection (and warms the JIT) without spending a token.
await Promise.all(clients.map((client) => client.getCABundle({})));
process.stdout.write(`ready ${JSON.stringify({ generateMs })}\n`);

if ((await nextLine()) !== "go") process.exit(2);

const latenciesMs: number[] = [];
let failures = 0;
let firstError: string | undefined;
let next = 0;
async function worker(client: RegistrationClient): Promise<void> {
  while (next < job.tokens.length) {
    const index = next++;
    const started = performance.now();
    try {
      const response = await client.register({
        token: job.tokens[index] as string,
        role: Role.AGENT,
        csr: csrs[index] as Uint8Array,
        hostname: `bench-${process.pid}-${index}.example`,
        version: "bench",
      });
      if (!response.certificate) throw new Error("register returned no certificate");
      latenciesMs.push(performance.now() - started);
    } catch (error) {
      failures += 1;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  }
}
await Promise.all(clients.map(worker));
process.stdout.write(`done ${JSON.stringify({ latenciesMs, failures, firstError })}\n`);
await nextLine();
process.exit(0);
