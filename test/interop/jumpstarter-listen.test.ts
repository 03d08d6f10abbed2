// Issue 14, the seed's Listen and RouterService through @grpc/grpc-js: a seed exporter listens on its lease, a client dials it, and the router pairs the two streams (Jumpstarter's own layout, for exporters that are not Drover agents).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type ControllerClient,
  controllerClient,
  type RouterFrame,
  routerStream,
} from "../support/jumpstarter-grpc-js.ts";
import { type LeaseLab, startLeaseLab } from "../support/lease-lab.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(30_000);

let lab: LeaseLab;
let client: ControllerClient;
let exporterSide: ControllerClient;
let agentCredentials: { certificatePem: string; privateKeyPem: string };

beforeAll(async () => {
  lab = await startLeaseLab({ labels: { board: "rpi4" } });
  client = controllerClient({
    address: lab.fleet.server.endpoints.http,
    caPem: lab.caPem,
    metadata: { authorization: `Bearer ${lab.admin.accessToken}` },
  });
  const agentDir = join(lab.fleet.dir, "agent");
  agentCredentials = {
    certificatePem: await readFile(join(agentDir, "agent.pem"), "utf8"),
    privateKeyPem: await readFile(join(agentDir, "agent.key"), "utf8"),
  };
  exporterSide = controllerClient({
    address: lab.fleet.server.endpoints.agent,
    caPem: lab.caPem,
    ...agentCredentials,
  });
});

afterAll(async () => {
  client?.close();
  exporterSide?.close();
  await lab?.stop();
});

describe("Listen: a seed exporter takes the client's stream", () => {
  test("Dial and Listen tokens open the two ends; frames cross both ways; the lease's end cuts both", async () => {
    const { name } = await client.unary<{ name: string }>("RequestLease", {
      selector: { matchLabels: { board: "rpi4" } },
      duration: { seconds: 600 },
      workspaceId: lab.admin.workspaceId,
    });
    await waitFor("the lease Ready", async () => {
      const lease = await client.unary<{ phase: string }>("GetLease", { name });
      return lease.phase === "Ready" ? true : undefined;
    });

    // The exporter's side: Listen, and for each ticket open its end and answer every frame.
    const tickets: Array<{ routerEndpoint: string; routerToken: string }> = [];
    const exporterEnds: Array<ReturnType<typeof routerStream>> = [];
    const stopListening = exporterSide.serverStream<{
      routerEndpoint: string;
      routerToken: string;
    }>("Listen", { leaseName: name }, (ticket) => {
      tickets.push(ticket);
      const end = routerStream({
        address: ticket.routerEndpoint,
        caPem: lab.caPem,
        ...agentCredentials,
        token: ticket.routerToken,
      });
      end.on("data", (frame: RouterFrame) =>
        end.write({
          payload: Buffer.from(`board says: ${frame.payload}`),
          frameType: "FRAME_TYPE_DATA",
        }),
      );
      end.on("error", () => {});
      exporterEnds.push(end);
    });

    // The client's side: Dial, then its end of the stream with the router token.
    const dialed = await client.unary<{ routerEndpoint: string; routerToken: string }>("Dial", {
      leaseName: name,
    });
    expect(dialed.routerEndpoint).toBe(lab.fleet.server.endpoints.http);
    const clientEnd = routerStream({
      address: dialed.routerEndpoint,
      caPem: lab.caPem,
      token: dialed.routerToken,
    });
    const received: string[] = [];
    clientEnd.on("data", (frame: RouterFrame) => received.push(String(frame.payload)));
    const clientError = new Promise<{ code: number; details: string }>((resolve) =>
      clientEnd.on("error", (error: { code: number; details: string }) => resolve(error)),
    );
    clientEnd.write({ payload: Buffer.from("hello"), frameType: "FRAME_TYPE_DATA" });
    await waitFor("the exporter's answer", () => (received.length > 0 ? true : undefined));
    expect(received).toEqual(["board says: hello"]);
    expect(tickets).toHaveLength(1);
    expect(tickets[0]?.routerEndpoint).toBe(lab.fleet.server.endpoints.agent);

    // A ticket is single use: the exporter cannot open a second end with it.
    const replay = routerStream({
      address: lab.fleet.server.endpoints.agent,
      caPem: lab.caPem,
      ...agentCredentials,
      token: tickets[0]?.routerToken as string,
    });
    const replayed = await new Promise<{ code: number }>((resolve) => replay.on("error", resolve));
    expect(replayed.code).toBe(16); // UNAUTHENTICATED

    await client.unary("ReleaseLease", { name });
    const cut = await clientError;
    expect(cut.code).toBe(9); // FAILED_PRECONDITION
    expect(cut.details).toContain(`lease ${name} has ended (Released)`);
    stopListening();
    for (const end of exporterEnds) end.cancel();
  });

  test("Listen on a lease this exporter does not hold is refused", async () => {
    const error = await new Promise<{ code: number; details: string }>((resolve) =>
      exporterSide.serverStream("Listen", { leaseName: "lease-nope" }, () => {}, resolve),
    );
    expect(error.code).toBe(9);
    expect(error.details).toContain("lease lease-nope is not held on this exporter");
  });
});
