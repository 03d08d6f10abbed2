import { create, toBinary } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { Role } from "../lib/gen/drover/v1/identity_pb.ts";
import {
  RegisterResponseSchema,
  RegistrationService,
} from "../lib/gen/drover/v1/registration_pb.ts";
import {
  createCertificateRequest,
  exportPrivateKeyPem,
  generateKeyPair,
} from "../lib/pki/index.ts";
import type { DroverServer } from "../lib/server/index.ts";
import { grpcTransport } from "../lib/transport/index.ts";
import {
  type ConnectionMode,
  type PhaseResult,
  runClients,
  startBareTlsServer,
} from "./registration-clients.ts";
import {
  fmtMs,
  fmtRate,
  fmtRatio,
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

/** What a real agent does to join: a fresh key pair, a CSR, one Register RPC. */
async function registerOne(
  client: RegistrationClient,
  server: DroverServer,
  token: string,
  index: number,
): Promise<BenchIdentity> {
  const keys = await generateKeyPair();
  const csr = await createCertificateRequest(keys);
  const response = await client.register({
    token,
    role: Role.AGENT,
    csr,
    hostname: `bench-${index}.example`,
    version: "bench",
  });
  if (!response.certificate) throw new Error("register returned no certificate");
  return {
    id: response.id,
    certificatePem: response.certificate.certificatePem,
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    caPem: response.caBundlePem,
    agentAddress: server.endpoints.agent,
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
    identities.push(await registerOne(client, server, tokens[index] as string, index));
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

export interface RegistrationBenchOptions {
  /** Client processes. */
  clients: number;
  /** Register RPCs in flight per client process. */
  concurrency: number;
}

/** The table's rows for one phase: rate, latency, CPU per unit on both sides. */
function phaseRows(label: string, result: PhaseResult, inFlight: number): string[][] {
  const count = result.latenciesMs.length;
  const serverCpu = result.serverCpuMs / count;
  return [
    [label, fmtRate(perSecond(count, result.ms)), `${count} in ${fmtMs(result.ms)}`],
    [
      "  latency",
      `p50 ${fmtMs(percentile(result.latenciesMs, 50))}`,
      `p99 ${fmtMs(percentile(result.latenciesMs, 99))}, ${inFlight} in flight`,
    ],
    [
      "  server CPU each",
      fmtMs(serverCpu),
      `server process, all threads: one core alone would allow ${fmtRate(1000 / serverCpu)}`,
    ],
    ["  client CPU each", fmtMs(result.clientCpuMs / count), "all client processes"],
  ];
}

/**
 * Register RPCs from `clients` other processes against the server in this one,
 * twice: each on a fresh TLS connection (what a joining agent pays: its Register
 * call dials anew) and over warmed connections; against the raw sign rate and
 * a bare node:http2 TLS server's handshakes/s from the same clients (the ceiling).
 */
export async function benchRegistration(
  server: DroverServer,
  count: number,
  options: RegistrationBenchOptions = { clients: 2, concurrency: 16 },
): Promise<SummaryRow[]> {
  const tokenStart = now();
  const tokens = await createTokens(server, 2 * count + count);
  const tokenMs = now() - tokenStart;
  const { ca } = server.fleet.deps.authority;
  const inFlight = options.clients * options.concurrency;
  const phase = (connection: ConnectionMode, address: string, phaseTokens: string[]) =>
    runClients({ ...options, address, caPem: ca.certificatePem, tokens: phaseTokens, connection });

  // The server's registration path compiled before the clock starts, through the same
  // client processes: 32 in-process calls left the JIT compiling through the first timed
  // row (1.5 ms of server CPU a registration on the JIT thread after 800, 0.5 ms after 4,000),
  // so fresh connections paid the warm-up and the warmed row after them did not.
  await registerAgents(server, 4 * concurrency, 20_000);
  await phase("fresh", server.endpoints.registration, tokens.slice(2 * count));
  const signsBefore = await signRate(count, 3);
  // What a Register answer weighs, encoded once: the bare server's canned reply.
  const sample = await registerAgents(server, 1, 10_000);
  const answer = toBinary(
    RegisterResponseSchema,
    create(RegisterResponseSchema, {
      id: sample[0]?.id,
      certificate: { certificatePem: sample[0]?.certificatePem },
      caBundlePem: ca.certificatePem,
    }),
  );
  const bare = await startBareTlsServer(ca, answer);
  let handshakes: PhaseResult;
  let bareUnary: PhaseResult;
  try {
    handshakes = await phase("handshake", bare.address, tokens.slice(0, count));
    // Tokens are not spent here: the bare server never reads them.
    bareUnary = await phase("fresh", bare.address, tokens.slice(0, count));
  } finally {
    await bare.close();
  }
  const fresh = await phase("fresh", server.endpoints.registration, tokens.slice(0, count));
  const reused = await phase(
    "reused",
    server.endpoints.registration,
    tokens.slice(count, 2 * count),
  );
  const signsAfter = await signRate(count, 3);

  const signs = median([...signsBefore, ...signsAfter]);
  const rateOf = (result: PhaseResult) => perSecond(result.latenciesMs.length, result.ms);
  const freshRate = rateOf(fresh);
  const handshakeRate = rateOf(handshakes);
  printTable({
    title: `Registration: ${count} Register RPCs per row from ${options.clients} client processes x ${options.concurrency} in flight`,
    headers: ["measure", "value", "notes"],
    rows: [
      ...phaseRows("registrations, fresh TLS connection each", fresh, inFlight),
      ...phaseRows("registrations, warmed connections", reused, inFlight),
      ...phaseRows(
        "Register, fresh connection each, bare node:http2 (canned answer)",
        bareUnary,
        inFlight,
      ),
      ...phaseRows("TLS handshakes, bare node:http2 server (ceiling)", handshakes, inFlight),
      [
        "ECDSA P-256 signs (baseline)",
        fmtRate(signs),
        `server process, median of 6 x ${count} signs of 300 B, 8 in flight`,
      ],
      ["ratio fresh registrations / handshakes", fmtRatio(freshRate / handshakeRate), ""],
      ["ratio fresh registrations / bare Register", fmtRatio(freshRate / rateOf(bareUnary)), ""],
      ["ratio fresh registrations / signs", fmtRatio(freshRate / signs), ""],
      [
        "client key pair + CSR (untimed)",
        fmtRate(perSecond(count, fresh.generateMs)),
        `${options.clients} processes in parallel, before the clock starts`,
      ],
      [
        "join tokens created (untimed)",
        fmtRate(perSecond(tokens.length, tokenMs)),
        `${tokens.length} in ${fmtMs(tokenMs)}`,
      ],
    ],
    notes: [
      "A joining agent dials twice: an unverified getCABundle, then Register on a verified connection; the fresh row pays the second.",
      "Clients share the machine's cores with the server: CPU per unit, both sides, says who is the bound.",
    ],
  });

  return [
    {
      metric: "registrations/s, fresh connection (clients in other processes)",
      value: fmtRate(freshRate),
      baseline: `${fmtRate(handshakeRate)} bare TLS handshakes`,
      ratio: fmtRatio(freshRate / handshakeRate),
    },
    {
      metric: "registration p99, fresh connection",
      value: fmtMs(percentile(fresh.latenciesMs, 99)),
      baseline: `p50 ${fmtMs(percentile(fresh.latenciesMs, 50))}`,
      ratio: fmtRatio(percentile(fresh.latenciesMs, 99) / percentile(fresh.latenciesMs, 50)),
    },
    {
      metric: "registrations/s, warmed connections",
      value: fmtRate(rateOf(reused)),
      baseline: `${fmtRate(signs)} signs`,
      ratio: fmtRatio(rateOf(reused) / signs),
    },
  ];
}
