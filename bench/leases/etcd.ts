/**
 * etcd from Debian (`etcd-server`, scripts/setup-bench-system.sh) on loopback
 * for the lease bench's baseline: one member, a temp data dir, default
 * durability (the WAL is fsynced before every commit is acknowledged; no
 * --unsafe-no-fsync), TLS on the client port with a server certificate from
 * the fleet CA, as Drover's listeners have.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  exportPrivateKeyPem,
  type FleetCA,
  generateKeyPair,
  issueServerCertificate,
} from "../../lib/pki/index.ts";
import { pause, within } from "../table.ts";
import { httpsJson } from "./https-json.ts";

export interface EtcdProcess {
  /** The client URL (https://127.0.0.1:PORT). */
  url: string;
  pid: number;
  version: string;
  stop(): Promise<void>;
}

/** A port free right now on 127.0.0.1 (etcd takes no port 0). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startEtcd(ca: FleetCA): Promise<EtcdProcess> {
  const dir = await mkdtemp(join(tmpdir(), "drover-bench-etcd-"));
  const keys = await generateKeyPair();
  const certificate = await issueServerCertificate(ca, {
    publicKey: keys.publicKey,
    hostnames: ["localhost"],
    ips: ["127.0.0.1"],
  });
  const certFile = join(dir, "server.pem");
  const keyFile = join(dir, "server.key");
  await writeFile(certFile, certificate.certificatePem);
  await writeFile(keyFile, await exportPrivateKeyPem(keys.privateKey), { mode: 0o600 });
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `https://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child: ChildProcess = spawn(
    "etcd",
    [
      "--name=bench",
      `--data-dir=${join(dir, "data")}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=bench=${peer}`,
      `--cert-file=${certFile}`,
      `--key-file=${keyFile}`,
      "--logger=zap",
      "--log-level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  const exited = once(child, "exit");
  const stop = async () => {
    if (!spawnError && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await within(10_000, "stopping etcd", exited).finally(() => clearTimeout(timer));
    }
    await rm(dir, { recursive: true, force: true });
  };
  const client = httpsJson(url, { caPem: ca.certificatePem });
  try {
    const started = performance.now();
    for (;;) {
      if (spawnError)
        throw new Error(
          `etcd did not start (${spawnError.message}): run scripts/setup-bench-system.sh`,
        );
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`etcd exited at start: ${stderr}`);
      const health = (await client.call("GET", "/health").catch(() => undefined)) as
        | { health?: string }
        | undefined;
      if (health?.health === "true") break;
      if (performance.now() - started > 20_000)
        throw new Error(`etcd did not become healthy within 20 s: ${stderr}`);
      await pause(100);
    }
    const { etcdserver } = (await client.call("GET", "/version")) as { etcdserver: string };
    return { url, pid: child.pid ?? 0, version: etcdserver, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
