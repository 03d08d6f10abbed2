import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import {
  exportPrivateKeyPem,
  type FleetCA,
  generateKeyPair,
  issueServerCertificate,
} from "../lib/pki/index.ts";
import { now, within } from "./table.ts";

/**
 * What a client's unit of work is: a Register RPC on a connection of its own
 * (as a joining agent), one on a warmed connection, or a bare TLS handshake.
 */
export type ConnectionMode = "fresh" | "reused" | "handshake";

const clientScript = fileURLToPath(new URL("./registration-client.ts", import.meta.url));

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

export interface PhaseOptions {
  address: string;
  caPem: string;
  /** One unit of work per token (the handshake phase only counts them). */
  tokens: string[];
  connection: ConnectionMode;
  clients: number;
  concurrency: number;
}

export interface PhaseResult {
  latenciesMs: number[];
  /** From "go" to the last answer. */
  ms: number;
  /** User+system of this (the server's) process over the window, all its threads. */
  serverCpuMs: number;
  /** User+system of all client processes over the window. */
  clientCpuMs: number;
  /** Key pairs and CSRs, before the clock starts: slowest client. */
  generateMs: number;
}

/**
 * Work from `clients` other processes against a server in this one. Each
 * client prepares (keys, CSRs, a warm-up that spends no token) before the clock
 * starts; the rate is measured from "go" to the last answer.
 */
export async function runClients(options: PhaseOptions): Promise<PhaseResult> {
  const clients = Array.from({ length: options.clients }, spawnClient);
  try {
    const perClient = Math.ceil(options.tokens.length / options.clients);
    clients.forEach((client, index) => {
      const job = {
        address: options.address,
        caPem: options.caPem,
        tokens: options.tokens.slice(index * perClient, (index + 1) * perClient),
        concurrency: options.concurrency,
        connection: options.connection,
      };
      client.child.stdin?.write(`${JSON.stringify(job)}\n`);
    });
    const ready = (await Promise.all(clients.map((client) => client.line("ready")))) as {
      generateMs: number;
    }[];
    const started = now();
    const cpuBefore = process.cpuUsage();
    for (const client of clients) client.child.stdin?.write("go\n");
    const results = (await Promise.all(clients.map((client) => client.line("done")))) as {
      latenciesMs: number[];
      cpuMs: number;
      failures: number;
      firstError?: string;
    }[];
    const ms = now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const failures = results.reduce((sum, r) => sum + r.failures, 0);
    if (failures > 0) {
      throw new Error(
        `${failures} of ${options.tokens.length} (${options.connection}) failed: ${results.find((r) => r.firstError)?.firstError}`,
      );
    }
    return {
      latenciesMs: results.flatMap((r) => r.latenciesMs),
      ms,
      serverCpuMs: (cpu.user + cpu.system) / 1000,
      clientCpuMs: results.reduce((sum, r) => sum + r.cpuMs, 0),
      generateMs: Math.max(...ready.map((r) => r.generateMs)),
    };
  } finally {
    await Promise.all(clients.map(stopClient));
  }
}

export interface BareTlsServer {
  address: string;
  close(): Promise<void>;
}

/**
 * A bare node:http2 TLS server on loopback with a server certificate from the
 * fleet CA (the shape Drover's own has): the ceiling without Drover above it.
 * Every stream is answered, once its request has arrived, with `answer` (one
 * gRPC message, protobuf bytes) and grpc-status 0, as a unary gRPC handler
 * that does no work would.
 */
export async function startBareTlsServer(ca: FleetCA, answer: Uint8Array): Promise<BareTlsServer> {
  const keys = await generateKeyPair();
  const certificate = await issueServerCertificate(ca, {
    publicKey: keys.publicKey,
    hostnames: [],
    ips: ["127.0.0.1"],
  });
  const frame = new Uint8Array(5 + answer.length);
  new DataView(frame.buffer).setUint32(1, answer.length);
  frame.set(answer, 5);
  const server = createSecureServer({
    cert: certificate.certificatePem,
    key: await exportPrivateKeyPem(keys.privateKey),
    allowHTTP1: false,
  });
  server.on("stream", (stream) => {
    stream.resume();
    stream.once("end", () => {
      stream.respond(
        { ":status": 200, "content-type": "application/grpc+proto" },
        {
          waitForTrailers: true,
        },
      );
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(frame);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
      }),
  };
}
