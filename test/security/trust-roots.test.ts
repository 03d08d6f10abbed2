// Audit item: one trust root per purpose (issue 9) — a workspace admin's internal certificate must not impersonate the control plane.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { execFile, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createSecureServer, type Http2SecureServer } from "node:http2";
import { join } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { IdentityService } from "../../lib/gen/drover/v1/identity_pb.ts";
import {
  exportPrivateKeyPem,
  generateKeyPair,
  issueServerCertificate,
  loadFleetCA,
} from "../../lib/pki/index.ts";
import { openStore } from "../../lib/store/index.ts";
import { grpcTransport } from "../../lib/transport/index.ts";
import { type DeliveryFixture, startDeliveryFixture } from "../support/delivery-fixture.ts";
import { httpsClient } from "../support/https-client.ts";
import { freePort, listen, portOf, waitFor } from "../support/loopback.ts";

setDefaultTimeout(60_000);

const run = promisify(execFile);
const repo = join(import.meta.dir, "../..");
// A name the control plane's own certificate carries (server.ts adds it always).
const serverHost = "localhost";

let fixture: DeliveryFixture;
let fleetCaFile: string;
let sitesCaFile: string;
let sitesCaPem: string;
let fleetCaPem: string;

beforeAll(async () => {
  fixture = await startDeliveryFixture({ name: "roots" });
  const { dir, fleet } = fixture;
  const http = httpsClient(`https://${fleet.server.endpoints.http}`, {
    caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
  });
  fleetCaPem = (await http("GET", "/ca.pem")).text;
  const sites = await http("GET", "/sites-ca.pem");
  expect(sites.status).toBe(200);
  sitesCaPem = sites.text;
  fleetCaFile = join(dir, "fleet-ca.pem");
  sitesCaFile = join(dir, "sites-ca.pem");
  writeFileSync(fleetCaFile, fleetCaPem);
  writeFileSync(sitesCaFile, sitesCaPem);
});

afterAll(async () => {
  await fixture?.stop();
});

/** `openssl verify` of a certificate file for a TLS server named `host`, trusting only `caFile`. */
async function verifies(caFile: string, certificateFile: string, host: string): Promise<boolean> {
  const args = ["verify", "-CAfile", caFile, "-purpose", "sslserver", "-verify_hostname", host];
  return run("openssl", [...args, certificateFile]).then(
    () => true,
    () => false,
  );
}

/** The agent's generated key and certificate for a record, as files under its data dir. */
function heldBy(certificateId: string): { certificateFile: string; keyFile: string } {
  const files = join(fixture.dir, "agent", "files");
  const keys = readdirSync(join(files, "keys")).filter((n) => n.startsWith(`${certificateId}-`));
  expect(keys).toHaveLength(1);
  return {
    certificateFile: join(files, "certs", `${certificateId}.pem`),
    keyFile: join(files, "keys", keys[0] as string),
  };
}

/**
 * A fake control plane on 127.0.0.1 serving `key`+`certificate` over HTTP/2
 * and HTTP/1.1: counts TCP connections (someone tried) and requests (someone
 * trusted it and sent something).
 */
async function fakeServer(tls: { key: string; cert: string }) {
  const seen = { connections: 0, requests: 0 };
  const server: Http2SecureServer = createSecureServer({ ...tls, allowHTTP1: true });
  server.on("connection", () => (seen.connections += 1));
  server.on("request", (_req, res) => {
    seen.requests += 1;
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = portOf(server);
  return {
    seen,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An Identity.Renew call to `port` as the agent, trusting what the agent trusts. */
async function agentCall(port: number): Promise<unknown> {
  const agentDir = join(fixture.dir, "agent");
  const identity = createClient(
    IdentityService,
    grpcTransport(`${serverHost}:${port}`, {
      caPem: readFileSync(join(agentDir, "ca.pem"), "utf8"),
      certificatePem: readFileSync(join(agentDir, "agent.pem"), "utf8"),
      privateKeyPem: readFileSync(join(agentDir, "agent.key"), "utf8"),
    }),
  );
  return identity.renew({}, { timeoutMs: 5_000 }).then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** `drover login` from source against `port`, pinning `caFile`; its exit code and stderr. */
function login(port: number, caFile: string): Promise<{ code: number | null; stderr: string }> {
  const home = join(fixture.dir, "home");
  const child = spawn(
    process.execPath,
    [
      "appliance/main.ts",
      "login",
      "--server",
      `https://${serverHost}:${port}`,
      "--email",
      "operator@example.com",
      "--password-stdin",
      "--ca",
      caFile,
    ],
    { cwd: repo, env: { PATH: process.env.PATH, HOME: home }, stdio: ["pipe", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end("the operator's password\n");
  const killer = setTimeout(() => child.kill(), 20_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, stderr });
    }),
  );
}

let certificateId: string;
let tlsPort: number;

/** The certificate the agent's nginx serves on the TLS host, as a file. */
async function served(): Promise<string> {
  const file = join(fixture.dir, "served.pem");
  const { stdout } = await run("bash", [
    "-c",
    `openssl s_client -connect 127.0.0.1:${tlsPort} -servername ${serverHost} </dev/null 2>/dev/null | openssl x509`,
  ]);
  writeFileSync(file, stdout);
  return file;
}

describe("an internal certificate for the control plane's own name", () => {
  let held: { certificateFile: string; keyFile: string };

  test("the agent gets its key signed by the sites CA, not the fleet CA", async () => {
    const { rest, ok, workspaceId, settled } = fixture;
    const certificate = await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/certificates`, {
        domain: serverHost,
        provider: "internal",
      }),
      201,
    );
    certificateId = certificate.id as string;
    tlsPort = await freePort();
    const backend = await listen((_req, res) => res.end("site"));
    const upstream = await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/upstreams`, {
        name: "backend",
        algorithm: "round_robin",
        servers: [{ address: `127.0.0.1:${portOf(backend)}` }],
      }),
      201,
    );
    await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
        name: "impostor",
        server_name: serverHost,
        listen_port: tlsPort,
        ssl_enabled: true,
        ssl_certificate_id: certificate.id,
        locations: [{ path: "/", upstream_id: upstream.id }],
      }),
      201,
    );
    await settled((status) => {
      const hosts = status.virtual_hosts as { status: string }[];
      return status.state === "success" && hosts[0]?.status === "applied";
    });
    backend.close();
    held = heldBy(certificateId);

    expect(await verifies(fleetCaFile, held.certificateFile, serverHost)).toBe(false);
    expect(await verifies(sitesCaFile, held.certificateFile, serverHost)).toBe(true);
    expect(await verifies(sitesCaFile, await served(), serverHost)).toBe(true);
  });

  test("GET /sites-ca.pem is a CA apart from the fleet CA, restricted to serverAuth, its key 0600", async () => {
    expect(sitesCaPem).toContain("-----BEGIN CERTIFICATE-----");
    expect(sitesCaPem).not.toBe(fleetCaPem);
    const { stdout } = await run("openssl", [
      "x509",
      "-in",
      sitesCaFile,
      "-noout",
      "-subject",
      "-ext",
      "basicConstraints,extendedKeyUsage",
    ]);
    expect(stdout).toContain("OU = sites, CN = Drover sites CA");
    expect(stdout).toContain("CA:TRUE");
    expect(stdout).toContain("TLS Web Server Authentication");
    expect(stdout).not.toContain("Client Authentication");
    const dataDir = join(fixture.fleet.dir, "server");
    expect(readFileSync(join(dataDir, "sites-ca.pem"), "utf8")).toBe(sitesCaPem);
    expect(statSync(join(dataDir, "sites-ca.key")).mode & 0o777).toBe(0o600);
    // The fleet CA is not a root for what the sites CA signs, nor the other way round.
    expect(await verifies(sitesCaFile, join(dataDir, "server.pem"), serverHost)).toBe(false);
  });

  test("an agent (gRPC, trusting its fleet CA) refuses a fake server with that key and certificate", async () => {
    expect(readFileSync(join(fixture.dir, "agent", "ca.pem"), "utf8")).toBe(fleetCaPem);
    const fake = await fakeServer({
      key: readFileSync(held.keyFile, "utf8"),
      cert: readFileSync(held.certificateFile, "utf8"),
    });
    try {
      const error = await agentCall(fake.port);
      expect(String(error)).toMatch(/certificate|issuer|self.signed/i);
      expect(fake.seen.connections).toBeGreaterThan(0);
      expect(fake.seen.requests).toBe(0);
    } finally {
      await fake.close();
    }
  });

  test("drover login --ca <fleet ca.pem> refuses it too, and sends no password", async () => {
    const fake = await fakeServer({
      key: readFileSync(held.keyFile, "utf8"),
      cert: readFileSync(held.certificateFile, "utf8"),
    });
    try {
      const result = await login(fake.port, fleetCaFile);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("is not from --ca");
      expect(fake.seen.connections).toBeGreaterThan(0);
      expect(fake.seen.requests).toBe(0);
    } finally {
      await fake.close();
    }
  });

  test("drover login refuses the sites CA as --ca, before connecting anywhere", async () => {
    const result = await login(await freePort(), sitesCaFile);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("is the sites CA");
  });

  test("control: what the fleet CA signed for that name before (the old issuance) was trusted by both", async () => {
    const dataDir = join(fixture.fleet.dir, "server");
    const fleetCa = await loadFleetCA({
      certificatePem: readFileSync(join(dataDir, "ca.pem"), "utf8"),
      privateKeyPem: readFileSync(join(dataDir, "ca.key"), "utf8"),
    });
    const keys = await generateKeyPair();
    const old = await issueServerCertificate(fleetCa, {
      publicKey: keys.publicKey,
      hostnames: [serverHost],
      ips: [],
      validityDays: 90,
    });
    const fake = await fakeServer({
      key: await exportPrivateKeyPem(keys.privateKey),
      cert: old.certificatePem,
    });
    try {
      await agentCall(fake.port);
      expect(fake.seen.requests).toBe(1);
      await login(fake.port, fleetCaFile);
      expect(fake.seen.requests).toBe(2);
    } finally {
      await fake.close();
    }
  });
});

describe("a data dir from before the sites CA", () => {
  test("on restart a sites CA is made, and the agent's fleet-signed certificate is replaced by a sites-signed one", async () => {
    const { fleet, agentId } = fixture;
    const dataDir = join(fleet.dir, "server");
    // What an old server left: no sites CA, and the fleet CA's signature on the agent's key.
    await fleet.restart(async (stopped) => {
      rmSync(join(stopped, "sites-ca.pem"));
      rmSync(join(stopped, "sites-ca.key"));
      const fleetCa = await loadFleetCA({
        certificatePem: readFileSync(join(stopped, "ca.pem"), "utf8"),
        privateKeyPem: readFileSync(join(stopped, "ca.key"), "utf8"),
      });
      const store = await openStore({ path: join(stopped, "drover.db") });
      try {
        const [row] = (await store.agentTlsCertificates.listForAgent(agentId)).filter(
          (r) => r.certificateId === certificateId,
        );
        if (!row) throw new Error("the agent holds no certificate for the record");
        const agentKey = new X509Certificate(row.certificatePem).publicKey.export({
          type: "spki",
          format: "der",
        });
        const publicKey = await crypto.subtle.importKey(
          "spki",
          agentKey,
          { name: "ECDSA", namedCurve: "P-256" },
          true,
          ["verify"],
        );
        const legacy = await issueServerCertificate(fleetCa, {
          publicKey,
          hostnames: [serverHost],
          ips: [],
          validityDays: 90,
        });
        await store.agentTlsCertificates.put({ ...row, ...legacy });
      } finally {
        await store.close();
      }
    });

    expect(existsSync(join(dataDir, "sites-ca.pem"))).toBe(true);
    expect(statSync(join(dataDir, "sites-ca.key")).mode & 0o777).toBe(0o600);
    const newSitesCa = readFileSync(join(dataDir, "sites-ca.pem"), "utf8");
    expect(newSitesCa).not.toBe(sitesCaPem);
    const newSitesCaFile = join(fixture.dir, "sites-ca-2.pem");
    writeFileSync(newSitesCaFile, newSitesCa);

    // The agent reconnects, is asked for a new key, and nginx serves the sites CA's certificate.
    const servedFile = await waitFor(
      "nginx serving a certificate from the new sites CA",
      async () => {
        const file = await served();
        return (await verifies(newSitesCaFile, file, serverHost)) ? file : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, retryErrors: true },
    );
    expect(await verifies(fleetCaFile, servedFile, serverHost)).toBe(false);
    const heldFile = join(fixture.dir, "agent", "files", "certs", `${certificateId}.pem`);
    expect(await verifies(newSitesCaFile, heldFile, serverHost)).toBe(true);
  });
});
