// Issue 14, "Independent client: grpc-js calls RequestLease, GetLease, ListLeases, ReleaseLease": @grpc/grpc-js over proto/jumpstarter/v1 on the HTTPS listener with a bearer token, against a real server and a seed exporter.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type ControllerClient, controllerClient, grpc } from "../support/jumpstarter-grpc-js.ts";
import { type LeaseLab, startLeaseLab } from "../support/lease-lab.ts";

setDefaultTimeout(30_000);

interface Timestamp {
  seconds: string;
  nanos: number;
}
interface GetLeaseReply {
  name: string;
  phase: string;
  client: string;
  workspaceId: string;
  exporterUuid?: string;
  fencingToken?: string;
  queuePosition?: number;
  duration: { seconds: string; nanos: number } | null;
  selector: { matchLabels: Record<string, string> } | null;
  beginTime?: Timestamp;
  endTime?: Timestamp;
  conditions: Array<{ type: string; status: string; reason: string }>;
}

let lab: LeaseLab;
let client: ControllerClient;

/** The error a call failed with; fails the test if it succeeded. */
async function callError(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error("the call succeeded but should have failed");
}

beforeAll(async () => {
  lab = await startLeaseLab({ labels: { board: "rpi4" } });
  client = controllerClient({
    address: lab.fleet.server.endpoints.http,
    caPem: lab.caPem,
    metadata: { authorization: `Bearer ${lab.admin.accessToken}` },
  });
});

afterAll(async () => {
  client?.close();
  await lab?.stop();
});

describe("ControllerService leases through @grpc/grpc-js with a bearer token", () => {
  test("RequestLease, GetLease, ListLeases and ReleaseLease", async () => {
    const workspaceId = lab.admin.workspaceId;
    const { name } = await client.unary<{ name: string }>("RequestLease", {
      selector: { matchLabels: { board: "rpi4" } },
      duration: { seconds: 600 },
      workspaceId,
    });
    expect(name).toMatch(/^lease-/);

    const lease = await client.unary<GetLeaseReply>("GetLease", { name });
    expect(lease).toMatchObject({
      name,
      phase: "Ready",
      workspaceId,
      exporterUuid: lab.agent.id,
      duration: { seconds: "600", nanos: 0 },
      selector: { matchLabels: { board: "rpi4" } },
    });
    expect(lease.client).toMatch(/^user:/);
    expect(Number(lease.fencingToken)).toBeGreaterThanOrEqual(1);
    expect(Number(lease.endTime?.seconds) - Number(lease.beginTime?.seconds)).toBe(600);
    expect(lease.conditions).toContainEqual(
      expect.objectContaining({ type: "Ready", status: "True" }),
    );

    // The same lease through REST: one engine behind both edges.
    const rest = await lab.admin.ok(lab.admin.rest("GET", `/v1/leases/${name}`));
    expect(rest).toMatchObject({ phase: "Ready", fencing_token: Number(lease.fencingToken) });

    const { names } = await client.unary<{ names: string[] }>("ListLeases", { workspaceId });
    expect(names).toContain(name);

    expect(await client.unary("ReleaseLease", { name })).toEqual({});
    const ended = await client.unary<GetLeaseReply>("GetLease", { name });
    expect(ended).toMatchObject({ phase: "Ended" });
    expect(ended.conditions).toContainEqual(
      expect.objectContaining({ type: "Ready", status: "False", reason: "Released" }),
    );
  });

  test("a request no exporter matches ends at once, Unsatisfiable", async () => {
    const { name } = await client.unary<{ name: string }>("RequestLease", {
      selector: { matchLabels: { board: "vax" } },
      duration: { seconds: 60 },
      workspaceId: lab.admin.workspaceId,
    });
    const lease = await client.unary<GetLeaseReply>("GetLease", { name });
    expect(lease.phase).toBe("Ended");
    expect(lease.conditions).toContainEqual(
      expect.objectContaining({ type: "Unsatisfiable", status: "True", reason: "NoMatch" }),
    );
  });

  test("a malformed request is INVALID_ARGUMENT naming the field, and stores nothing", async () => {
    const workspaceId = lab.admin.workspaceId;
    const before = await client.unary<{ names: string[] }>("ListLeases", { workspaceId });
    const error = await callError(
      client.unary("RequestLease", {
        selector: { matchExpressions: [{ key: "board", operator: "In", values: ["a", "b"] }] },
        duration: { seconds: 60 },
        workspaceId,
      }),
    );
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toContain("selector.match_expressions.0");
    const after = await client.unary<{ names: string[] }>("ListLeases", { workspaceId });
    expect(after.names).toEqual(before.names);
  });

  test("without a bearer token the lease methods refuse the call", async () => {
    const anonymous = controllerClient({
      address: lab.fleet.server.endpoints.http,
      caPem: lab.caPem,
    });
    try {
      const error = await callError(anonymous.unary("ListLeases", {}));
      expect(error.code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      anonymous.close();
    }
  });
});
