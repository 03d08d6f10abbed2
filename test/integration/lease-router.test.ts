// Issue 14, the router end to end in one process: a real server, a real agent with --exporter, and a client that leases, dials and calls drivers through the tunnel.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { parseExporterConfig } from "../../lib/exporter/index.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { ExporterStatus } from "../../lib/gen/jumpstarter/v1/common_pb.ts";
import { ControllerService } from "../../lib/gen/jumpstarter/v1/jumpstarter_pb.ts";
import { dialExporter } from "../../lib/router/index.ts";
import { serverPaths } from "../../lib/server/index.ts";
import { grpcTransport, type TlsClientOptions } from "../../lib/transport/index.ts";
import {
  type InProcessAgent,
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "../support/in-process.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(30_000);

let dir: string;
let fleet: InProcessFleet;
let board: InProcessAgent;
let echo: Server;
let tls: TlsClientOptions;
let controller: Client<typeof ControllerService>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "drover-lease-router-"));
  // The board's ssh, reachable from the exporter only: an echo service on loopback.
  echo = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  const port = (echo.address() as { port: number }).port;
  fleet = await startInProcessFleet();
  const { token } = await fleet.operator.createJoinToken({
    role: Role.AGENT,
    labels: { board: "pi4" },
  });
  board = await startInProcessAgent(fleet, {
    dataDir: join(dir, "agent"),
    token,
    hostname: "bench-pi",
    exporter: parseExporterConfig(
      JSON.stringify({
        drivers: [
          {
            name: "power",
            type: "power",
            config: {
              on: ["touch", join(dir, "power-on")],
              off: ["rm", "-f", join(dir, "power-on")],
            },
          },
          { name: "ssh", type: "tcp", config: { host: "127.0.0.1", port } },
        ],
        hooks: { after_lease: { argv: ["touch", join(dir, "after-lease")], timeout: "10s" } },
      }),
      "exporter.json",
    ),
  });
  // Its agent's session is open; its exporter registers and reports right after.
  await waitFor("the exporter to be Available", async () =>
    (await fleet.server.leases.exporterById(board.id))?.status === "Available" ? true : undefined,
  );
  const paths = serverPaths(join(fleet.dir, "server"));
  tls = {
    caPem: readFileSync(paths.caCertificate, "utf8"),
    certificatePem: readFileSync(paths.adminCertificate, "utf8"),
    privateKeyPem: readFileSync(paths.adminKey, "utf8"),
  };
  controller = createClient(ControllerService, grpcTransport(fleet.server.endpoints.operator, tls));
});

afterAll(async () => {
  await board?.stop();
  await fleet?.stop();
  echo?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function readyLease(): Promise<string> {
  const { name } = await controller.requestLease({
    selector: { matchLabels: { board: "pi4" } },
    duration: durationFromMs(600_000),
  });
  await waitFor("the lease and its exporter ready", async () => {
    const lease = await controller.getLease({ name });
    return lease.phase === "Ready" ? true : undefined;
  });
  return name;
}

describe("a lease through the router", () => {
  test("Dial, then ExporterService and a tcp driver's byte stream inside the one tunnel", async () => {
    const name = await readyLease();
    const client = await dialExporter({
      address: fleet.server.endpoints.operator,
      tls,
      headers: {},
      leaseName: name,
    });
    try {
      const report = await client.exporter.getReport({});
      expect(report.uuid).toBe(board.id);
      const byName = new Map(
        report.reports.map((driver) => [driver.labels["jumpstarter.dev/name"], driver.uuid]),
      );
      await client.exporter.driverCall({ uuid: byName.get("power") as string, method: "on" });
      expect(existsSync(join(dir, "power-on"))).toBe(true);
      // The seed's Reset and GetStatus answer inside the tunnel too.
      expect(await client.exporter.reset({})).toBeDefined();
      expect((await client.exporter.getStatus({})).status).toBe(ExporterStatus.LEASE_READY);

      const stream = client.openStream(byName.get("ssh") as string, "connect");
      const echoed = new Promise<string>((resolve) =>
        stream.once("data", (chunk: Buffer) => resolve(chunk.toString())),
      );
      stream.write("SSH-2.0-probe\r\n");
      expect(await echoed).toBe("SSH-2.0-probe\r\n");
      stream.destroy();
    } finally {
      client.close();
    }
    await controller.releaseLease({ name });
    await waitFor("the afterLease hook", () =>
      existsSync(join(dir, "after-lease")) ? true : undefined,
    );
  });
});
