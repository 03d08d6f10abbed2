/**
 * A simulator process for the scale bench: `bun bench/scale/sim-process.ts CONFIG_JSON`
 * holds up to a few thousand LEAN simulated agents (sim-agent.ts). It speaks
 * JSON lines: commands on stdin ({seq, cmd, …}), one reply per command on
 * stdout ({seq, …}), after a first line {"ready": true, "ids": […]}. It exits
 * when stdin closes, so it is never left behind.
 *
 * Identities are registered here (the real RegistrationService.Register with
 * a join token and a CSR, 8 in flight) and appended to a cache file, so the
 * next step of the bench reuses them and registers only the difference.
 */
import { appendFile, readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { createClient } from "@connectrpc/connect";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { RegistrationService } from "../../lib/gen/drover/v1/registration_pb.ts";
import {
  createCertificateRequest,
  exportPrivateKeyPem,
  generateKeyPair,
} from "../../lib/pki/index.ts";
import { grpcTransport } from "../../lib/transport/index.ts";
import { runPool } from "../table.ts";
import {
  createSimAgent,
  emptyCounters,
  type SimAgent,
  type SimIdentity,
  type SimTarget,
} from "./sim-agent.ts";

export interface SimProcessConfig {
  /** JSON lines of SimIdentity, read at start and appended to. */
  cacheFile: string;
  registrationAddress: string;
  caPem: string;
  /** Source addresses the agents' connections are spread over. */
  localAddresses: string[];
}

/** The commands of a simulator process (the `seq` is added by the sender). */
export type SimCommand =
  | { cmd: "register"; tokens: string[] }
  | {
      cmd: "connect";
      address: string;
      count: number;
      heartbeatMs: number;
      welcome: boolean;
      pace: number;
    }
  | { cmd: "disconnect" }
  | { cmd: "stats" }
  | { cmd: "exit" };

export interface SimStats {
  held: number;
  connecting: number;
  open: number;
  welcomed: number;
  counters: ReturnType<typeof emptyCounters>;
}

const registrationConcurrency = 8;

async function loadIdentities(cacheFile: string): Promise<SimIdentity[]> {
  const text = await readFile(cacheFile, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as SimIdentity);
}

async function main(config: SimProcessConfig): Promise<void> {
  const identities = await loadIdentities(config.cacheFile);
  const counters = emptyCounters();
  const agents: SimAgent[] = identities.map((identity) => createSimAgent(identity, counters));
  const running: Array<Promise<void>> = [];
  let connection = new AbortController();
  const registration = createClient(
    RegistrationService,
    grpcTransport(config.registrationAddress, { caPem: config.caPem }),
  );

  async function register(tokens: string[]) {
    const added: SimIdentity[] = [];
    const pool = await runPool(tokens.length, registrationConcurrency, 600_000, async (index) => {
      const keys = await generateKeyPair();
      const response = await registration.register({
        token: tokens[index] as string,
        role: Role.AGENT,
        csr: await createCertificateRequest(keys),
        hostname: `sim-${agents.length + index}.bench`,
        version: "bench",
      });
      if (!response.certificate) throw new Error("Register returned no certificate");
      added.push({
        id: response.id,
        certificatePem: response.certificate.certificatePem,
        privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
      });
    });
    await appendFile(
      config.cacheFile,
      added.map((identity) => `${JSON.stringify(identity)}\n`).join(""),
      {
        mode: 0o600,
      },
    );
    for (const identity of added) agents.push(createSimAgent(identity, counters));
    return { registered: pool.done, ids: added.map((identity) => identity.id) };
  }

  /**
   * Starts agents [started, count): at most `pace` first attempts in flight, so
   * a step's ramp measures admission, not a self-made storm.
   */
  async function connectAgents(command: Extract<SimCommand, { cmd: "connect" }>) {
    const from = running.length;
    const to = Math.min(command.count, agents.length);
    const { localAddresses } = config;
    await runPool(to - from, command.pace, 3_600_000, (offset) => {
      const index = from + offset;
      const agent = agents[index] as SimAgent;
      const localAddress = localAddresses[index % Math.max(1, localAddresses.length)];
      const target: SimTarget = {
        address: command.address,
        caPem: config.caPem,
        heartbeatMs: command.heartbeatMs,
        welcome: command.welcome,
        ...(localAddress ? { localAddress } : {}),
      };
      return new Promise<void>((resolve) => {
        running.push(agent.run(target, connection.signal, resolve));
      });
    });
    return { started: to - from };
  }

  async function disconnect() {
    connection.abort();
    await Promise.all(running.splice(0));
    connection = new AbortController();
    return { stopped: true };
  }

  function stats(): SimStats {
    const tally = { idle: 0, connecting: 0, open: 0, welcomed: 0 };
    for (const agent of agents) tally[agent.state()] += 1;
    return { held: agents.length, ...tally, counters };
  }

  const reply = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
  reply({ ready: true, ids: agents.map((agent) => agent.id) });

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const { seq, ...command } = JSON.parse(line) as SimCommand & { seq: number };
    try {
      if (command.cmd === "register") reply({ seq, ...(await register(command.tokens)) });
      // Answered at once: the caller watches the server's count, not this reply.
      else if (command.cmd === "connect") {
        reply({ seq, accepted: true });
        void connectAgents(command);
      } else if (command.cmd === "disconnect") reply({ seq, ...(await disconnect()) });
      else if (command.cmd === "stats") reply({ seq, ...stats() });
      else if (command.cmd === "exit") break;
    } catch (error) {
      reply({ seq, error: String(error) });
    }
  }
  await disconnect();
}

const [configJson] = process.argv.slice(2);
if (!configJson) {
  console.error("usage: bun bench/scale/sim-process.ts CONFIG_JSON");
  process.exit(2);
}
await main(JSON.parse(configJson) as SimProcessConfig);
process.exit(0);
