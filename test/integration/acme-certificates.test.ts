import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Pebble, startPebble } from "../../lib/acme/testing.ts";
import type { DroverAgent } from "../../lib/agent/index.ts";
import type { FleetEvent } from "../../lib/events/index.ts";
import {
  type DeliveryFixture,
  type Json,
  startDeliveryFixture,
} from "../support/delivery-fixture.ts";
import type { InProcessFleet } from "../support/in-process.ts";
import { freePort, listen, portOf, waitFor } from "../support/loopback.ts";

// ACME end to end against pebble (Debian's ACME test server) on loopback:
// the server orders, the agent's real nginx answers HTTP-01 from the files the
// server delivers, the certificate and key reach the agent, curl verifies the
// served chain against pebble's root. Renewal orders again.
setDefaultTimeout(120_000);

const run = promisify(execFile);
const domain = "site.drover.test";

let fixture: DeliveryFixture;
let dir: string;
let pebble: Pebble;
let fleet: InProcessFleet;
let rest: DeliveryFixture["rest"];
let ok: DeliveryFixture["ok"];
let agent: DroverAgent;
let workspaceId: string;
let events: FleetEvent[];
let upstreamId: string;
let backend: Server;
let httpPort: number;
let tlsPort: number;
let rootFile: string;

/** Issuance and renewal take pebble and nginx a while: wait up to a minute. */
const patiently = { timeoutMs: 60_000, intervalMs: 100 };
/** Settled on success, and on whatever else `probe` asks. */
const settledWith = (probe: (status: Json) => boolean): Promise<Json> =>
  fixture.settled((status) => status.state === "success" && probe(status));
async function servedSerial(): Promise<string> {
  const { stdout } = await run("bash", [
    "-c",
    `openssl s_client -connect 127.0.0.1:${tlsPort} -servername ${domain} </dev/null 2>/dev/null | openssl x509 -noout -serial`,
  ]);
  return stdout
    .trim()
    .replace(/^serial=/, "")
    .toLowerCase();
}

beforeAll(async () => {
  [httpPort, tlsPort] = [await freePort(), await freePort()];
  pebble = await startPebble({ httpPort });
  fixture = await startDeliveryFixture({
    name: "web",
    fleet: {
      acme: {
        directoryUrl: pebble.directoryUrl,
        // Provider "letsencrypt" pointed at a port nothing listens on: a CA that cannot be reached.
        letsEncryptDirectoryUrl: `https://127.0.0.1:${await freePort()}/directory`,
        fetch: pebble.fetch,
        contact: ["mailto:ops@drover.test"],
      },
    },
    patience: patiently,
  });
  ({ dir, fleet, rest, ok, agent, workspaceId, events } = fixture);
  rootFile = join(dir, "pebble-root.pem");
  writeFileSync(rootFile, pebble.issuerRootPem);
  backend = await listen((_, res) => res.end("site"));
  const upstream = await ok(
    rest("POST", `/v1/workspaces/${workspaceId}/upstreams`, {
      name: "backend",
      algorithm: "round_robin",
      servers: [{ address: `127.0.0.1:${portOf(backend)}` }],
    }),
    201,
  );
  upstreamId = upstream.id as string;
  // The plain-HTTP host pebble validates through (its httpPort).
  await ok(
    rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
      name: "site-http",
      server_name: domain,
      listen_port: httpPort,
      locations: [{ path: "/", upstream_id: upstreamId }],
    }),
    201,
  );
  await settledWith(() => true);
});

afterAll(async () => {
  await fixture?.stop();
  backend?.close();
  await pebble?.stop();
});

describe("ACME certificates through the agents' nginx (pebble)", () => {
  let certificateId: string;
  let firstSerial: string;

  test("a TLS host on an acme record: the agent's key, an order finalized with its CSR, HTTP-01 through its nginx", async () => {
    const record = await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/certificates`, { domain, provider: "acme" }),
      201,
    );
    certificateId = record.id as string;
    await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
        name: "site-tls",
        server_name: domain,
        listen_port: tlsPort,
        ssl_enabled: true,
        ssl_certificate_id: certificateId,
        locations: [{ path: "/", upstream_id: upstreamId }],
      }),
      201,
    );
    const active = await waitFor(
      "the certificate",
      async () => {
        const current = await ok(rest("GET", `/v1/certificates/${certificateId}`));
        if (current.status === "failed")
          throw new Error(`issuance failed: ${current.status_message}\n${pebble.logs()}`);
        return current.status === "active" ? current : undefined;
      },
      patiently,
    );
    expect(active.expires_at).not.toBeNull();
    expect(
      events.some((e) => e.type === "certificate.issued" && e.subjectId === certificateId),
    ).toBe(true);
    await settledWith((status) =>
      (status.virtual_hosts as Json[]).every((host) => host.status === "applied"),
    );
    const { stdout } = await run("curl", [
      "-sS",
      "--max-time",
      "5",
      "--cacert",
      rootFile,
      "--resolve",
      `${domain}:${tlsPort}:127.0.0.1`,
      `https://${domain}:${tlsPort}/`,
    ]);
    expect(stdout).toBe("site");
    firstSerial = await servedSerial();
    expect(firstSerial).toMatch(/^[0-9a-f]+$/);
    // The key is the agent's: 0600 in its keys/ directory, and it is what nginx serves with.
    const keysDir = join(dir, "agent", "files", "keys");
    const keyFile = readdirSync(keysDir).find((name) => name.startsWith(`${certificateId}-`));
    expect(keyFile).toBeDefined();
    expect(statSync(join(keysDir, keyFile as string)).mode & 0o777).toBe(0o600);
    const servedKey = await run("bash", [
      "-c",
      `openssl s_client -connect 127.0.0.1:${tlsPort} -servername ${domain} </dev/null 2>/dev/null | openssl x509 -noout -pubkey`,
    ]);
    const heldKey = await run("openssl", [
      "pkey",
      "-in",
      join(keysDir, keyFile as string),
      "-pubout",
    ]);
    expect(servedKey.stdout.trim()).toBe(heldKey.stdout.trim());
    // The challenge answers are gone from nginx once the order is done.
    const conf = readFileSync(agent.nginx?.paths.config as string, "utf8");
    expect(conf).not.toContain("acme-challenge");
  });

  test("renew now: the agent makes a new key, a new order is finalized with it, nginx serves the new certificate", async () => {
    const renewal = await ok(rest("POST", `/v1/certificates/${certificateId}/renew`));
    expect(renewal).toEqual({ certificate_id: certificateId, agents: 1 });
    await waitFor(
      "the renewed certificate on the wire",
      async () => {
        await fleet.server.delivery.settled();
        const serial = await servedSerial();
        return serial !== firstSerial ? serial : undefined;
      },
      patiently,
    );
    expect(
      events.some((e) => e.type === "certificate.renewed" && e.subjectId === certificateId),
    ).toBe(true);
  });

  test("a CA that cannot be reached: the record says why, and the agent's other hosts keep serving", async () => {
    const record = await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/certificates`, {
        domain: "other.drover.test",
        provider: "letsencrypt",
      }),
      201,
    );
    await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
        name: "other-tls",
        server_name: "other.drover.test",
        listen_port: tlsPort,
        ssl_enabled: true,
        ssl_certificate_id: record.id,
        locations: [{ path: "/", upstream_id: upstreamId }],
      }),
      201,
    );
    const failed = await waitFor(
      "the failure",
      async () => {
        const current = await ok(rest("GET", `/v1/certificates/${record.id}`));
        return current.status === "failed" ? current : undefined;
      },
      patiently,
    );
    expect(failed.status_message).toMatch(/ACME|unreachable|connect/i);
    expect(events.some((e) => e.type === "certificate.failed" && e.subjectId === record.id)).toBe(
      true,
    );
    const status = await settledWith(() => true);
    const other = (status.virtual_hosts as Json[]).find((host) => host.status === "set_aside");
    expect(other).toBeDefined();
    expect(await servedSerial()).toMatch(/^[0-9a-f]+$/);
  });
});
