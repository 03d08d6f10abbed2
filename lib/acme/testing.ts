/**
 * Test support for the ACME client (not part of the public surface, not
 * built): pebble + pebble-challtestsrv on loopback, a fetch that trusts
 * pebble's TLS certificate, and an HTTP-01 responder on node:http.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createFleetCA,
  exportPrivateKeyPem,
  generateKeyPair,
  issueServerCertificate,
} from "../pki/index.ts";
import type { AcmeFetch } from "./client.ts";
import { fetchTrustingCa } from "./fetch.ts";
import type { ChallengeResponder } from "./obtain.ts";

const startTimeoutMs = 15_000;

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
async function freeTcpPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** A port free for both UDP and TCP: challtestsrv serves DNS on both. */
async function freeDnsPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const socket = createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, "127.0.0.1", resolve);
    });
    const { port } = socket.address();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    const tcp = createTcpServer();
    const ok = await new Promise<boolean>((resolve) => {
      tcp.once("error", () => resolve(false));
      tcp.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (ok) {
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      return port;
    }
  }
  throw new Error("no port free for both UDP and TCP");
}

function binary(name: string): string {
  for (const dir of ["/usr/bin", "/usr/local/bin"]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  // Fail loudly: a missing pebble must not turn into a skipped test.
  throw new Error(`${name} not found: install it with \`bash scripts/setup-test-system.sh\``);
}

interface Child {
  process: ChildProcess;
  output: () => string;
}

function start(command: string, args: string[], env: Record<string, string>): Child {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    // Keep the tail only: enough to explain a failure, bounded in memory.
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  return { process: child, output: () => output };
}

async function stopChild(child: Child): Promise<void> {
  const proc = child.process;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Polls until `check` succeeds, failing with the children's output if one dies or time runs out. */
async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  children: Child[],
): Promise<void> {
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    for (const child of children) {
      if (child.process.exitCode !== null || child.process.signalCode !== null) {
        throw new Error(`${what}: a child exited early:\n${child.output()}`);
      }
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${what} not ready after ${startTimeoutMs} ms:\n${children.map((c) => c.output()).join("\n")}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Pebble {
  directoryUrl: string;
  /** CA of pebble's own HTTPS listener (what the client must trust). */
  tlsCaPem: string;
  fetch: AcmeFetch;
  /** Pebble's issuing root for this run, to verify issued chains. */
  issuerRootPem: string;
  stop(): Promise<void>;
  logs(): string;
}

/**
 * Starts pebble-challtestsrv as pebble's DNS (every A query answers
 * 127.0.0.1, no AAAA) and pebble itself, all on 127.0.0.1. Pebble validates
 * HTTP-01 on `httpPort`, where the test's responder listens.
 */
export async function startPebble(options: { httpPort: number }): Promise<Pebble> {
  const pebbleBin = binary("pebble");
  const challtestsrvBin = binary("pebble-challtestsrv");
  const dir = await mkdtemp(join(tmpdir(), "drover-pebble-"));
  const children: Child[] = [];
  const stop = async () => {
    await Promise.all(children.map(stopChild));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Pebble's HTTPS listener gets a certificate from a throwaway CA made with lib/pki.
    const ca = await createFleetCA({ fleetId: "pebble-tls", validityDays: 2 });
    const keys = await generateKeyPair();
    const server = await issueServerCertificate(ca, {
      publicKey: keys.publicKey,
      hostnames: ["localhost"],
      ips: ["127.0.0.1"],
      validityDays: 1,
    });
    const certPath = join(dir, "cert.pem");
    const keyPath = join(dir, "key.pem");
    await writeFile(certPath, server.certificatePem);
    await writeFile(keyPath, await exportPrivateKeyPem(keys.privateKey));

    const [acmePort, managementPort, tlsPort, dnsPort, dnsManagementPort] = [
      await freeTcpPort(),
      await freeTcpPort(),
      await freeTcpPort(),
      await freeDnsPort(),
      await freeTcpPort(),
    ];
    const configPath = join(dir, "pebble-config.json");
    await writeFile(
      configPath,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: certPath,
          privateKey: keyPath,
          httpPort: options.httpPort,
          // TLS-ALPN-01 is not used, but pebble wants a port; nothing listens there.
          tlsPort,
          ocspResponderURL: "",
          externalAccountBindingRequired: false,
        },
      }),
    );
    // Minimal environment: no proxy variables or locale surprises leak into the children.
    const env = { PATH: "/usr/bin:/bin" };
    children.push(
      start(
        challtestsrvBin,
        [
          "-dns01",
          `127.0.0.1:${dnsPort}`,
          "-http01",
          "",
          "-https01",
          "",
          "-tlsalpn01",
          "",
          "-management",
          `127.0.0.1:${dnsManagementPort}`,
          "-defaultIPv4",
          "127.0.0.1",
          // No AAAA answers: the responder listens on IPv4 loopback only.
          "-defaultIPv6",
          "",
        ],
        env,
      ),
    );
    await waitUntil(
      "pebble-challtestsrv",
      async () => (await fetch(`http://127.0.0.1:${dnsManagementPort}/`)).status > 0,
      children,
    );
    children.push(
      start(pebbleBin, ["-config", configPath, "-dnsserver", `127.0.0.1:${dnsPort}`], {
        ...env,
        PEBBLE_VA_NOSLEEP: "1",
        PEBBLE_WFE_NONCEREJECT: "0",
        // Never reuse authorizations, so every order really runs HTTP-01.
        PEBBLE_AUTHZREUSE: "0",
      }),
    );
    const trusted = fetchTrustingCa(ca.certificatePem);
    const directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
    await waitUntil(
      "pebble",
      async () => (await trusted(directoryUrl, { method: "GET" })).status === 200,
      children,
    );
    const rootResponse = await trusted(`https://127.0.0.1:${managementPort}/roots/0`, {
      method: "GET",
    });
    const issuerRootPem = await rootResponse.text();
    if (!issuerRootPem.includes("BEGIN CERTIFICATE")) throw new Error("pebble root unavailable");
    return {
      directoryUrl,
      tlsCaPem: ca.certificatePem,
      fetch: trusted,
      issuerRootPem,
      stop,
      logs: () => children.map((c) => c.output()).join("\n"),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface TestResponder extends ChallengeResponder {
  port: number;
  /** Tokens currently published. */
  tokens(): string[];
  /** Paths pebble (or anyone) requested, in order. */
  requests: string[];
  publishCount: number;
  close(): Promise<void>;
}

/** HTTP-01 responder on 127.0.0.1: serves /.well-known/acme-challenge/<token> from memory. */
export async function startResponder(): Promise<TestResponder> {
  const published = new Map<string, string>();
  const requests: string[] = [];
  const server: Server = createHttpServer((req, res) => {
    const path = req.url ?? "";
    requests.push(path);
    const match = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(path);
    const body = match?.[1] === undefined ? undefined : published.get(match[1]);
    if (req.method !== "GET" || body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" }).end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  const responder: TestResponder = {
    port: address.port,
    requests,
    publishCount: 0,
    tokens: () => [...published.keys()],
    async publish(token, keyAuthorization) {
      responder.publishCount++;
      published.set(token, keyAuthorization);
    },
    async remove(token) {
      published.delete(token);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return responder;
}
