import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { execFile } from "node:child_process";
import {
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import type { FleetEvent } from "../../lib/events/index.ts";
import {
  type DeliveryFixture,
  type Json,
  startDeliveryFixture,
} from "../support/delivery-fixture.ts";
import type { InProcessFleet } from "../support/in-process.ts";
import { freePort, listen, portOf, waitFor } from "../support/loopback.ts";

// KeyGenRequests / SubmitPublicKeys with a real agent and nginx: a TLS
// virtual host on an internal certificate is served with a certificate the
// sites CA signed for a key that never left the agent. curl and openssl check it.
setDefaultTimeout(90_000);

const run = promisify(execFile);

let fixture: DeliveryFixture;
let dir: string;
let fleet: InProcessFleet;
let rest: DeliveryFixture["rest"];
let ok: DeliveryFixture["ok"];
let settled: DeliveryFixture["settled"];
let workspaceId: string;
let events: FleetEvent[];
let backend: Server;
let tlsPort: number;
let caFile: string;

beforeAll(async () => {
  fixture = await startDeliveryFixture({ name: "tls" });
  ({ dir, fleet, rest, ok, settled, workspaceId, events } = fixture);
  caFile = join(dir, "sites-ca.pem");
  writeFileSync(caFile, readFileSync(join(fleet.dir, "server", "sites-ca.pem"), "utf8"));
  backend = await listen((_, res) => res.end("secure"));
  tlsPort = await freePort();
});

afterAll(async () => {
  await fixture?.stop();
  backend?.close();
});

describe("internal certificates for virtual hosts", () => {
  let certificateId: string;
  let upstreamId: string;

  test("the agent generates the key, the sites CA signs its CSR, nginx serves the certificate", async () => {
    const certificate = await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/certificates`, {
        domain: "secure.test",
        provider: "internal",
      }),
      201,
    );
    certificateId = certificate.id as string;
    const upstream = await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/upstreams`, {
        name: "backend",
        algorithm: "round_robin",
        servers: [{ address: `127.0.0.1:${portOf(backend)}` }],
      }),
      201,
    );
    upstreamId = upstream.id as string;
    await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
        name: "secure",
        server_name: "secure.test",
        listen_port: tlsPort,
        ssl_enabled: true,
        ssl_certificate_id: certificateId,
        locations: [{ path: "/", upstream_id: upstream.id }],
      }),
      201,
    );
    const status = await settled((current) => {
      const hosts = current.virtual_hosts as Json[];
      return current.state === "success" && hosts.length === 1 && hosts[0]?.status === "applied";
    });
    expect(status.applied_version).toBe(status.desired_version);

    const { stdout } = await run("curl", [
      "-sS",
      "--max-time",
      "5",
      "--cacert",
      caFile,
      "--resolve",
      `secure.test:${tlsPort}:127.0.0.1`,
      `https://secure.test:${tlsPort}/`,
    ]);
    expect(stdout).toBe("secure");

    const served = await run("bash", [
      "-c",
      `openssl s_client -connect 127.0.0.1:${tlsPort} -servername secure.test </dev/null 2>/dev/null | openssl x509 -noout -ext subjectAltName -issuer`,
    ]);
    expect(served.stdout).toContain("DNS:secure.test");
    expect(served.stdout).toContain(
      `OU = sites, CN = Drover sites CA ${fleet.server.fleet.deps.authority.ca.fleetId}`,
    );

    const record = await ok(rest("GET", `/v1/certificates/${certificateId}`));
    expect(record).toMatchObject({ status: "active", provider: "internal" });
    expect(new Date(record.expires_at as string).getTime()).toBeGreaterThan(
      Date.now() + 80 * 86_400_000,
    );
    expect(
      events.some((e) => e.type === "certificate.issued" && e.subjectId === certificateId),
    ).toBe(true);
  });

  test("the private key stays on the agent: 0600 there, nowhere in the server's database or events", async () => {
    const keysDir = join(dir, "agent", "files", "keys");
    const keyFiles = readdirSync(keysDir).filter((name) => name.startsWith(`${certificateId}-`));
    expect(keyFiles).toHaveLength(1);
    const keyPath = join(keysDir, keyFiles[0] as string);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const keyBody = readFileSync(keyPath, "utf8")
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("-----"))
      .join("");
    expect(keyBody.length).toBeGreaterThan(100);
    const serverFiles = readdirSync(join(fleet.dir, "server")).filter((name) =>
      name.startsWith("drover.db"),
    );
    expect(serverFiles.length).toBeGreaterThan(0);
    for (const name of serverFiles) {
      const bytes = readFileSync(join(fleet.dir, "server", name)).toString("latin1");
      expect(bytes.includes(keyBody.slice(0, 64))).toBe(false);
    }
    expect(JSON.stringify(events).includes(keyBody.slice(0, 64))).toBe(false);
  });

  test("keys no configuration names are removed once a day old; younger ones and the live key stay", async () => {
    const keysDir = join(dir, "agent", "files", "keys");
    const live = readdirSync(keysDir).filter((name) => name.startsWith(`${certificateId}-`));
    const stale = join(keysDir, "cert-gone-key-000000000000.key");
    const young = join(keysDir, "cert-wait-key-000000000001.key");
    for (const path of [stale, young]) writeFileSync(path, "unused key\n", { mode: 0o600 });
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(stale, twoDaysAgo, twoDaysAgo);
    // Any change that reaches nginx: a plain host beside the TLS one.
    await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
        name: "plain",
        server_name: "plain.test",
        listen_port: await freePort(),
        locations: [{ path: "/", upstream_id: upstreamId }],
      }),
      201,
    );
    await waitFor("the stale key removed", async () => (existsSync(stale) ? undefined : true));
    expect(existsSync(young)).toBe(true);
    for (const name of live) expect(existsSync(join(keysDir, name))).toBe(true);
  });
});
