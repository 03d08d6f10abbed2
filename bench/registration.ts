import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
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
  median,
  now,
  percentile,
  perSecond,
  printTable,
  runPool,
  within,
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
const clientScript = fileURLToPath(new URL("./registration-client.ts", import.meta.url));

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

interface ClientProcess {
  child: ChildProcess;
  /** Resolves with the JSON after the first line starting with `word `. */
  line(word: string): Promise<unknown>;
}

function spawnClient(): ClientProcess {
  const child = spawn(process.execPath, [clientScript], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  const exited = once(child, "exit").then(([code, signal]) => {
    throw new Error(`a registration client exited (${code ?? signal}): ${stderr}`);
  });
  exited.catch(() => undefined);
  return {
    child,
    async line(word) {
      const found = new Promise<unknown>((resolve) => {
        const check = () => {
          const match = new RegExp(`^${word} (.*)$`, "m").exec(stdout);
          if (!match?.[1]) return;
          child.stdout?.off("data", check);
          resolve(JSON.parse(match[1]));
        };
        child.stdout?.on("data", check);
        check();
      });
      return within(120_000, `a registration client's "${word}"`, Promise.race([found, exited]));
    },
  };
}

/** Closing stdin ends a client; SIGKILL if it lingers. */
async function stopClient(client: ClientProcess): Promise<void> {
  const { child } = client;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.stdin?.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  try {
    await within(6_000, "stopping a registration client", exited);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Register RPCs from `clients` other processes against the server in this one.
 * Each client makes its keys and CSRs before the clock starts (an agent's own
 * cost, reported apart); the rate is measured from "go" to the last answer.
 */
export async function benchRegistration(
  server: DroverServer,
  count: number,
  options: RegistrationBenchOptions = { clients: 2, concurrency: 16 },
): Promise<SummaryRow[]> {
  const tokenStart = now();
  const tokens = await createTokens(server, count);
  const tokenMs = now() - tokenStart;

  // The server's registration path compiled before the clock starts (in-process clients).
  await registerAgents(server, 4 * concurrency, 20_000);
  await signRate(count, 1);

  const clients = Array.from({ length: options.clients }, spawnClient);
  try {
    const perClient = Math.ceil(count / options.clients);
    clients.forEach((client, index) => {
      const job = {
        address: server.endpoints.registration,
        caPem: server.fleet.deps.authority.ca.certificatePem,
        tokens: tokens.slice(index * perClient, (index + 1) * perClient),
        concurrency: options.concurrency,
      };
      client.child.stdin?.write(`${JSON.stringify(job)}\n`);
    });
    const ready = (await Promise.all(clients.map((client) => client.line("ready")))) as {
      generateMs: number;
    }[];
    const generateMs = Math.max(...ready.map((r) => r.generateMs));

    const signsBefore = await signRate(count, 3);
    const started = now();
    const cpuBefore = process.cpuUsage();
    for (const client of clients) client.child.stdin?.write("go\n");
    const results = (await Promise.all(clients.map((client) => client.line("done")))) as {
      latenciesMs: number[];
      failures: number;
      firstError?: string;
    }[];
    const ms = now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const signsAfter = await signRate(count, 3);

    const failures = results.reduce((sum, r) => sum + r.failures, 0);
    if (failures > 0) {
      throw new Error(
        `${failures} registrations failed: ${results.find((r) => r.firstError)?.firstError}`,
      );
    }
    const latencies = results.flatMap((r) => r.latenciesMs);
    const registrationRate = perSecond(latencies.length, ms);
    const signs = median([...signsBefore, ...signsAfter]);
    const signEquivalents = signs / registrationRate;
    const inFlight = options.clients * options.concurrency;
    // The server process over the window, all its threads.
    const serverCpuMs = (cpu.user + cpu.system) / 1000 / latencies.length;

    printTable({
      title: `Registration: ${latencies.length} Register RPCs from ${options.clients} client processes x ${options.concurrency} in flight`,
      headers: ["measure", "value", "notes"],
      rows: [
        ["registrations", fmtRate(registrationRate), `${latencies.length} in ${fmtMs(ms)}`],
        [
          "  Register RPC latency",
          `p50 ${fmtMs(percentile(latencies, 50))}`,
          `p99 ${fmtMs(percentile(latencies, 99))}, ${inFlight} in flight`,
        ],
        [
          "ECDSA P-256 signs (baseline)",
          fmtRate(signs),
          `server process, median of 6 x ${count} signs of 300 B, 8 in flight`,
        ],
        [
          "  server CPU per registration",
          fmtMs(serverCpuMs),
          `user+system of the server process: one core alone would allow ${fmtRate(1000 / serverCpuMs)}`,
        ],
        ["ratio registrations / signs", fmtRatio(registrationRate / signs), ""],
        [
          "cost per registration",
          `${fmtNumber(signEquivalents)} signs`,
          "sign-equivalents of wall time",
        ],
        [
          "client key pair + CSR (untimed)",
          fmtRate(perSecond(count, generateMs)),
          `${options.clients} processes in parallel, before the clock starts`,
        ],
        [
          "join tokens created (untimed)",
          fmtRate(perSecond(tokens.length, tokenMs)),
          `${tokens.length} in ${fmtMs(tokenMs)}`,
        ],
      ],
      notes: [
        "Each client worker reuses one warmed HTTP/2+TLS connection; a real agent also pays one TLS handshake.",
        "Clients share the machine's cores with the server.",
      ],
    });

    return [
      {
        metric: "registrations/s (clients in other processes)",
        value: fmtRate(registrationRate),
        baseline: `${fmtRate(signs)} signs`,
        ratio: fmtRatio(registrationRate / signs),
      },
      {
        metric: "registration p99",
        value: fmtMs(percentile(latencies, 99)),
        baseline: `p50 ${fmtMs(percentile(latencies, 50))}`,
        ratio: fmtRatio(percentile(latencies, 99) / percentile(latencies, 50)),
      },
      {
        metric: "cost per registration",
        value: `${fmtNumber(signEquivalents)} signs`,
        baseline: "1 sign",
        ratio: fmtRatio(signEquivalents),
      },
    ];
  } finally {
    await Promise.all(clients.map(stopClient));
  }
}
