import { type Client, createClient } from "@connectrpc/connect";
import { Role } from "../lib/gen/drover/v1/identity_pb.ts";
import { RegistrationService } from "../lib/gen/drover/v1/registration_pb.ts";
import {
  createCertificateRequest,
  exportPrivateKeyPem,
  generateKeyPair,
} from "../lib/pki/index.ts";
import type { DroverServer } from "../lib/server/index.ts";
import { grpcTransport } from "../lib/transport/index.ts";
import {
  fmtMs,
  fmtNumber,
  fmtRate,
  fmtRatio,
  mean,
  median,
  now,
  percentile,
  perSecond,
  printTable,
  runPool,
} from "./table.ts";

/** What a registered agent holds: enough to open its own mTLS connection. */
export interface BenchIdentity {
  id: string;
  certificatePem: string;
  privateKeyPem: string;
  caPem: string;
  agentAddress: string;
}

export interface SummaryRow {
  metric: string;
  value: string;
  baseline: string;
  ratio: string;
}

type RegistrationClient = Client<typeof RegistrationService>;

const concurrency = 8;

function registrationClient(server: DroverServer): RegistrationClient {
  return createClient(
    RegistrationService,
    grpcTransport(server.endpoints.registration, {
      caPem: server.fleet.deps.authority.ca.certificatePem,
    }),
  );
}

async function createTokens(server: DroverServer, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push((await server.fleet.createJoinToken({ role: "agent" })).token);
  }
  return tokens;
}

interface Timings {
  generateMs: number;
  rpcMs: number;
}

/** What a real agent does to join: a fresh key pair, a CSR, one Register RPC. */
async function registerOne(
  client: RegistrationClient,
  server: DroverServer,
  token: string,
  index: number,
): Promise<{ identity: BenchIdentity; timings: Timings }> {
  const started = now();
  const keys = await generateKeyPair();
  const csr = await createCertificateRequest(keys);
  const generated = now();
  const response = await client.register({
    token,
    role: Role.AGENT,
    csr,
    hostname: `bench-${index}.example`,
    version: "bench",
  });
  const registered = now();
  if (!response.certificate) throw new Error("register returned no certificate");
  return {
    identity: {
      id: response.id,
      certificatePem: response.certificate.certificatePem,
      privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
      caPem: response.caBundlePem,
      agentAddress: server.endpoints.agent,
    },
    timings: { generateMs: generated - started, rpcMs: registered - generated },
  };
}

/** Registers `count` agents through the real RPC (8 at a time), for the other benchmarks. */
export async function registerAgents(
  server: DroverServer,
  count: number,
  budgetMs: number,
): Promise<BenchIdentity[]> {
  const tokens = await createTokens(server, count);
  const clients = Array.from({ length: concurrency }, () => registrationClient(server));
  const identities: BenchIdentity[] = [];
  const pool = await runPool(count, concurrency, budgetMs, async (index) => {
    const client = clients[index % concurrency] as RegistrationClient;
    identities.push((await registerOne(client, server, tokens[index] as string, index)).identity);
  });
  if (pool.done < count) {
    throw new Error(`registered only ${pool.done} of ${count} agents within ${budgetMs} ms`);
  }
  return identities;
}

/** Median rate of `rounds` batches of `count` ECDSA P-256 signatures, 8 in flight. */
async function signRate(count: number, rounds: number): Promise<number[]> {
  const { privateKey } = await generateKeyPair();
  const payload = crypto.getRandomValues(new Uint8Array(300));
  const algorithm = { name: "ECDSA", hash: "SHA-256" } as const;
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const pool = await runPool(count, concurrency, 10_000, async () => {
      await crypto.subtle.sign(algorithm, privateKey, payload);
    });
    rates.push(perSecond(pool.done, pool.ms));
  }
  return rates;
}

export async function benchRegistration(
  server: DroverServer,
  count: number,
): Promise<SummaryRow[]> {
  const warmup = concurrency;
  const tokenStart = now();
  const tokens = await createTokens(server, count + warmup);
  const tokenMs = now() - tokenStart;

  // One connection per worker, opened (and JIT warmed) before the clock starts.
  const clients = Array.from({ length: concurrency }, () => registrationClient(server));
  await runPool(warmup, concurrency, 20_000, async (index) => {
    await registerOne(
      clients[index] as RegistrationClient,
      server,
      tokens[count + index] as string,
      index,
    );
  });
  await signRate(count, 1);

  const signsBefore = await signRate(count, 3);

  const generateStart = now();
  const generatePool = await runPool(count, concurrency, 20_000, async () => {
    await createCertificateRequest(await generateKeyPair());
  });
  const generateRate = perSecond(generatePool.done, now() - generateStart);

  const timings: Timings[] = [];
  const pool = await runPool(count, concurrency, 45_000, async (index) => {
    const client = clients[index % concurrency] as RegistrationClient;
    const result = await registerOne(client, server, tokens[index] as string, index);
    timings.push(result.timings);
  });
  const registrationRate = perSecond(pool.done, pool.ms);

  const signsAfter = await signRate(count, 3);
  const signs = median([...signsBefore, ...signsAfter]);
  const signEquivalents = signs / registrationRate;
  const rpc = timings.map((timing) => timing.rpcMs);
  const generate = timings.map((timing) => timing.generateMs);

  printTable({
    title: `Registration: ${pool.done} Register RPCs over TLS, concurrency ${concurrency}`,
    headers: ["measure", "value", "notes"],
    rows: [
      [
        "registrations",
        fmtRate(registrationRate),
        `${pool.done} in ${fmtMs(pool.ms)}${pool.timedOut ? " (time budget hit)" : ""}`,
      ],
      [
        "ECDSA P-256 signs (baseline)",
        fmtRate(signs),
        `median of 6 x ${count} signs of 300 B, 8 in flight`,
      ],
      ["ratio registrations / signs", fmtRatio(registrationRate / signs), ""],
      [
        "cost per registration",
        `${fmtNumber(signEquivalents)} signs`,
        "sign-equivalents of wall time",
      ],
      [
        "key pair + CSR alone",
        fmtRate(generateRate),
        `${fmtNumber(signs / generateRate)} sign-equivalents each`,
      ],
      [
        "  client key+CSR latency",
        fmtMs(mean(generate)),
        `mean, inside the registration run (p95 ${fmtMs(percentile(generate, 95))})`,
      ],
      [
        "  Register RPC latency",
        fmtMs(mean(rpc)),
        `mean (p50 ${fmtMs(percentile(rpc, 50))}, p95 ${fmtMs(percentile(rpc, 95))})`,
      ],
      [
        "join tokens created (untimed)",
        fmtRate(perSecond(tokens.length, tokenMs)),
        `${tokens.length} in ${fmtMs(tokenMs)}`,
      ],
    ],
    notes: [
      "Each worker reuses one warmed HTTP/2+TLS connection; a real agent also pays one TLS handshake.",
    ],
  });

  return [
    {
      metric: "registrations/s (incl. key+CSR)",
      value: fmtRate(registrationRate),
      baseline: `${fmtRate(signs)} signs`,
      ratio: fmtRatio(registrationRate / signs),
    },
    {
      metric: "cost per registration",
      value: `${fmtNumber(signEquivalents)} signs`,
      baseline: "1 sign",
      ratio: fmtRatio(signEquivalents),
    },
  ];
}
