// Issue 14, the seed's exporter methods through @grpc/grpc-js with an agent certificate: AuditStream lands in the stored, streamed audit trail; Unregister takes the exporter offline; a person cannot call them.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type ControllerClient,
  controllerClient,
  routerStream,
} from "../support/jumpstarter-grpc-js.ts";
import { type LeaseLab, startLeaseLab } from "../support/lease-lab.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(30_000);

let lab: LeaseLab;
let exporterSide: ControllerClient;
let person: ControllerClient;

beforeAll(async () => {
  lab = await startLeaseLab({ labels: { board: "rpi4" } });
  const agentDir = join(lab.fleet.dir, "agent");
  exporterSide = controllerClient({
    address: lab.fleet.server.endpoints.agent,
    caPem: lab.caPem,
    certificatePem: await readFile(join(agentDir, "agent.pem"), "utf8"),
    privateKeyPem: await readFile(join(agentDir, "agent.key"), "utf8"),
  });
  person = controllerClient({
    address: lab.fleet.server.endpoints.http,
    caPem: lab.caPem,
    metadata: { authorization: `Bearer ${lab.admin.accessToken}` },
  });
});

afterAll(async () => {
  exporterSide?.close();
  person?.close();
  await lab?.stop();
});

describe("the seed's exporter methods", () => {
  test("AuditStream: each event is stored as exporter.driver_called, visible in the event history", async () => {
    await exporterSide.clientStream("AuditStream", [
      {
        exporterUuid: lab.agent.id,
        driverInstanceUuid: "power-1",
        severity: "INFO",
        message: "power on",
      },
      {
        exporterUuid: lab.agent.id,
        driverInstanceUuid: "power-1",
        severity: "INFO",
        message: "power off",
      },
    ]);
    const history = await lab.admin.ok(
      lab.admin.rest("GET", "/v1/events?types=exporter.driver_called&limit=10"),
    );
    const events = (history.data as Array<{ data: Record<string, unknown> }>).map((e) => e.data);
    expect(events.map((e) => e.message).sort()).toEqual(["power off", "power on"]);
    expect(events[0]).toMatchObject({ exporter_id: lab.agent.id, driver_uuid: "power-1" });
  });

  test("a person cannot call an exporter method, nor an exporter a lease method", async () => {
    const asPerson = await person
      .unary("ReportStatus", { status: "EXPORTER_STATUS_AVAILABLE" })
      .catch((error: { code: number; details: string }) => error);
    expect(asPerson).toMatchObject({ code: 7 }); // PERMISSION_DENIED
    expect((asPerson as { details: string }).details).toContain("agent bind");
    const asExporter = await exporterSide
      .unary("RequestLease", { selector: { matchLabels: { board: "rpi4" } } })
      .catch((error: { code: number; details: string }) => error);
    expect(asExporter).toMatchObject({ code: 7 });
  });

  test("Unregister takes the exporter offline at once and voids its lease's router tokens", async () => {
    const { name } = await person.unary<{ name: string }>("RequestLease", {
      selector: { matchLabels: { board: "rpi4" } },
      duration: { seconds: 600 },
      workspaceId: lab.admin.workspaceId,
    });
    await waitFor("the lease Ready", async () => {
      const lease = await person.unary<{ phase: string }>("GetLease", { name });
      return lease.phase === "Ready" ? true : undefined;
    });
    const ticket = await person.unary<{ routerEndpoint: string; routerToken: string }>("Dial", {
      leaseName: name,
    });
    await exporterSide.unary("Unregister", { reason: "maintenance" });
    const stream = routerStream({
      address: ticket.routerEndpoint,
      caPem: lab.caPem,
      token: ticket.routerToken,
    });
    const refused = await new Promise<{ code: number }>((resolve) => stream.on("error", resolve));
    expect(refused.code).toBe(16); // UNAUTHENTICATED: the token is gone
    await waitFor("the exporter offline", async () => {
      const found = await lab.admin.ok(lab.admin.rest("GET", `/v1/exporters/${lab.agent.id}`));
      return found.online === false ? true : undefined;
    });
  });
});
