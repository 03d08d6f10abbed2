// Issue 14, "REST /v1/workspaces/{id}/exporters, /v1/exporters/{id}, /v1/workspaces/{id}/leases, /v1/leases/{name}": the queue, grant, extend, release and force release over REST, with a real seed exporter (grpc-js) on the agent bind.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { AdminRest } from "../support/admin-rest.ts";
import type { HttpResult, httpsClient } from "../support/https-client.ts";
import type { InProcessAgent } from "../support/in-process.ts";
import type { SeedExporter } from "../support/jumpstarter-grpc-js.ts";
import { type LeaseLab, startLeaseLab } from "../support/lease-lab.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;
type Lease = Json & { name: string; phase: string; reason: string; client: string };

let lab: LeaseLab;
let admin: AdminRest;
let agent: InProcessAgent;
let exporter: SeedExporter;
let operator: ReturnType<typeof httpsClient>;
let leasesPath: string;

beforeAll(async () => {
  lab = await startLeaseLab({
    labels: { board: "rpi4" },
    claimedLabels: { board: "claimed-by-the-exporter" },
    reports: [
      {
        uuid: "power-1",
        labels: { "jumpstarter.dev/name": "power" },
        description: "relay 1",
        methodsDescription: { on: "power on", off: "power off" },
      },
    ],
  });
  ({ admin, agent, exporter, operator } = lab);
  leasesPath = `/v1/workspaces/${admin.workspaceId}/leases`;
});

afterAll(async () => {
  await lab?.stop();
});

const requestLease = async (body: Json) =>
  (await admin.ok(admin.rest("POST", leasesPath, body), 201)) as Lease;
const getLease = async (name: string) =>
  (await admin.ok(admin.rest("GET", `/v1/leases/${name}`))) as Lease;
const listLeases = async (query = "") =>
  (await admin.ok(admin.rest("GET", `${leasesPath}${query}`))) as {
    data: Lease[];
    meta: { total: number };
  };

/** A 422 whose details name `field`. */
async function refused(result: Promise<HttpResult>, field: string): Promise<void> {
  const done = await result;
  const body = done.body as { error: { code: string; details: Array<{ field: string }> } };
  expect({ status: done.status, code: body.error?.code }).toEqual({
    status: 422,
    code: "VALIDATION_ERROR",
  });
  expect(body.error.details.map((detail) => detail.field)).toContain(field);
}

describe("exporters over REST", () => {
  test("the workspace's list shows the exporter with its labels, claims, status and reports", async () => {
    const page = (await admin.ok(
      admin.rest("GET", `/v1/workspaces/${admin.workspaceId}/exporters`),
    )) as { data: Json[]; meta: Json };
    expect(page.meta).toEqual({ page: 1, per_page: 20, total: 1 });
    expect(page.data[0]).toMatchObject({
      id: agent.id,
      uuid: exporter.uuid,
      name: "pi-1",
      workspace_id: admin.workspaceId,
      labels: { board: "rpi4" },
      claimed_labels: { board: "claimed-by-the-exporter" },
      online: true,
      status: "Available",
      lease_name: null,
      client: null,
      fencing_token: 0,
      reports: [
        {
          uuid: "power-1",
          parent_uuid: null,
          labels: { "jumpstarter.dev/name": "power" },
          description: "relay 1",
          methods_description: { on: "power on", off: "power off" },
        },
      ],
    });
    expect(exporter.uuid).toBe(agent.id);
  });

  test("an unknown exporter is 404", async () => {
    const missing = await admin.rest("GET", "/v1/exporters/ag-000000000000");
    expect(missing.status).toBe(404);
  });
});

describe("the lease queue over REST", () => {
  let first: Lease;
  let second: Lease;

  test("a request on a free exporter is Ready at once, with a fencing token", async () => {
    first = await requestLease({ selector: "board=rpi4", duration: "30m" });
    expect(first).toMatchObject({
      workspace_id: admin.workspaceId,
      selector: "board=rpi4",
      label_selector: { match_labels: { board: "rpi4" }, match_expressions: [] },
      duration: 1800,
      duration_text: "30m",
      priority: 0,
      phase: "Ready",
      reason: "Ready",
      exporter_id: agent.id,
      exporter_uuid: agent.id,
      queue_position: null,
      ended_at: null,
    });
    expect(first.client).toMatch(/^user:/);
    expect(first.fencing_token).toBeGreaterThanOrEqual(1);
    const begin = Date.parse(first.begin_time as string);
    expect(Date.parse(first.end_time as string) - begin).toBe(30 * 60_000);
    expect(first.conditions).toContainEqual(
      expect.objectContaining({ type: "Ready", status: "True" }),
    );
    const held = await admin.ok(admin.rest("GET", `/v1/exporters/${agent.id}`));
    expect(held).toMatchObject({
      lease_name: first.name,
      client: first.client,
      fencing_token: first.fencing_token,
    });
  });

  test("a second request for the only exporter waits: Pending, NotAvailable, first in the queue", async () => {
    second = await requestLease({ selector: "board=rpi4", duration: "10m" });
    expect(second).toMatchObject({
      phase: "Pending",
      reason: "NotAvailable",
      queue_position: 1,
      exporter_id: null,
      fencing_token: null,
    });
    const list = await listLeases();
    expect(list.data.map((lease) => [lease.name, lease.phase])).toEqual([
      [second.name, "Pending"],
      [first.name, "Ready"],
    ]);
    const pending = await listLeases("?phase=Pending");
    expect(pending.data.map((lease) => lease.name)).toEqual([second.name]);
  });

  test("extend by 15m moves the end by exactly 15 minutes", async () => {
    const extended = (await admin.ok(
      admin.rest("POST", `/v1/leases/${first.name}/extend`, { by: "15m" }),
    )) as Lease;
    expect(Date.parse(extended.end_time as string) - Date.parse(first.end_time as string)).toBe(
      15 * 60_000,
    );
    expect((await getLease(first.name)).end_time).toBe(extended.end_time);
  });

  test("an extension with both or neither of by and from_now, or a bad duration, is 422 and changes nothing", async () => {
    const before = (await getLease(first.name)).end_time;
    const path = `/v1/leases/${first.name}/extend`;
    await refused(admin.rest("POST", path, { by: "15m", from_now: "1h" }), "by");
    await refused(admin.rest("POST", path, {}), "by");
    await refused(admin.rest("POST", path, { by: "soon" }), "by");
    await refused(admin.rest("POST", path, { from_now: "-5m" }), "from_now");
    expect((await getLease(first.name)).end_time).toBe(before);
  });

  test("releasing the first grants the second, with a larger fencing token", async () => {
    const released = (await admin.ok(
      admin.rest("POST", `/v1/leases/${first.name}/release`),
    )) as Lease;
    expect(released).toMatchObject({ phase: "Ended", reason: "Released" });
    const granted = await waitFor("the second lease to be granted", async () => {
      const lease = await getLease(second.name);
      return lease.phase === "Ready" ? lease : undefined;
    });
    expect(granted).toMatchObject({ exporter_id: agent.id, queue_position: null });
    expect(granted.fencing_token as number).toBeGreaterThan(first.fencing_token as number);
  });

  test("an admin's force release naming the wrong holder is 409 and changes nothing", async () => {
    const wrong = await operator("POST", `/v1/leases/${second.name}/release`, {
      body: { expected_client: "user:somebody-else" },
    });
    expect(wrong.status).toBe(409);
    expect(wrong.text).toContain(second.client);
    const unnamed = await operator("POST", `/v1/leases/${second.name}/release`);
    expect(unnamed.status).toBe(409);
    expect(await getLease(second.name)).toMatchObject({ phase: "Ready", reason: "Ready" });
  });

  test("a force release naming the holder ends the lease as ForceReleased", async () => {
    const done = await operator("POST", `/v1/leases/${second.name}/release`, {
      body: { expected_client: second.client },
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ name: second.name, phase: "Ended", reason: "ForceReleased" });
    expect(await getLease(second.name)).toMatchObject({ phase: "Ended", reason: "ForceReleased" });
  });

  test("a request no exporter matches ends at once, Unsatisfiable (NoMatch)", async () => {
    const none = await requestLease({ selector: "board=vax", duration: "5m" });
    expect(none).toMatchObject({ phase: "Ended", reason: "NoMatch", exporter_id: null });
    expect(none.ended_at).not.toBeNull();
    expect(none.conditions).toContainEqual(
      expect.objectContaining({ type: "Unsatisfiable", status: "True", reason: "NoMatch" }),
    );
    const ended = await listLeases("?phase=Ended");
    expect(ended.data.map((lease) => lease.name)).toContain(none.name);
    expect(ended.data.every((lease) => lease.phase === "Ended")).toBe(true);
  });

  test("bad request bodies are 422 naming the field, and store nothing", async () => {
    const before = (await listLeases("?phase=Ended")).meta.total + (await listLeases()).meta.total;
    const cases: Array<[Json, string]> = [
      [{ selector: "board=rpi4", duration: "soon" }, "duration"],
      [{ selector: "board=rpi4", duration: "0m" }, "duration"],
      [{ selector: "board=rpi4" }, "duration"],
      [{ selector: "board=r pi", duration: "5m" }, "selector"],
      [{ duration: "5m" }, "selector"],
      [{ selector: "board=rpi4", duration: "5m", colour: "red" }, "colour"],
      [{ selector: "board=rpi4", duration: "5m", priority: 1.5 }, "priority"],
      [{ selector: "board=rpi4", begin_time: "tomorrow", end_time: "later" }, "begin_time"],
      [{ selector: "board=rpi4", end_time: "2000-01-01T00:00:00Z" }, "end_time"],
    ];
    for (const [body, field] of cases) await refused(admin.rest("POST", leasesPath, body), field);
    const after = (await listLeases("?phase=Ended")).meta.total + (await listLeases()).meta.total;
    expect(after).toBe(before);
  });

  test("an unknown lease is 404; a release of an ended one is 409", async () => {
    expect((await admin.rest("GET", "/v1/leases/lease-nope")).status).toBe(404);
    expect((await admin.rest("POST", `/v1/leases/${first.name}/release`)).status).toBe(409);
  });
});

describe("lease policies over REST", () => {
  const path = () => `/v1/workspaces/${admin.workspaceId}/lease-policies`;

  test("without stored policies the default is in force", async () => {
    expect(await admin.ok(admin.rest("GET", path()))).toEqual({
      policies: [
        {
          name: "default",
          principals: ["role:admin"],
          exporter_selector: "",
          max_duration: "1d",
          max_priority: 0,
        },
      ],
    });
  });

  test("an admin replaces them; a bad duration is 422 naming the field and stores nothing", async () => {
    const policy = {
      name: "bench",
      principals: ["role:viewer"],
      exporter_selector: "board=rpi4",
      max_duration: "2h",
      max_priority: 5,
    };
    await refused(
      admin.rest("PUT", path(), { policies: [{ ...policy, max_duration: "forever" }] }),
      "policies.0.max_duration",
    );
    expect(((await admin.ok(admin.rest("GET", path()))) as { policies: Json[] }).policies).toEqual([
      expect.objectContaining({ name: "default" }),
    ]);
    expect(await admin.ok(admin.rest("PUT", path(), { policies: [policy] }))).toEqual({
      policies: [policy],
    });
    // A request past the policy's maximum can never be granted.
    const long = await requestLease({ selector: "board=rpi4", duration: "3h" });
    expect(long).toMatchObject({ phase: "Ended", reason: "DurationExceedsPolicy" });
    expect(await admin.ok(admin.rest("PUT", path(), { policies: [] }))).toEqual({
      policies: [expect.objectContaining({ name: "default" })],
    });
  });
});

describe("the OpenAPI document", () => {
  test("documents every lease and exporter route under its tag", async () => {
    const document = (await admin.ok(admin.rest("GET", "/v1/openapi.json"))) as {
      paths: Record<string, Record<string, { tags: string[]; operationId: string }>>;
    };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => [
        `${method} ${path}`,
        op.tags[0],
        op.operationId,
      ]),
    );
    for (const expected of [
      ["get /workspaces/{workspace_id}/exporters", "Exporters", "listExporters"],
      ["get /exporters/{exporter_id}", "Exporters", "getExporter"],
      ["get /workspaces/{workspace_id}/leases", "Leases", "listLeases"],
      ["post /workspaces/{workspace_id}/leases", "Leases", "requestLease"],
      ["get /leases/{name}", "Leases", "getLease"],
      ["post /leases/{name}/extend", "Leases", "extendLease"],
      ["post /leases/{name}/release", "Leases", "releaseLease"],
      ["get /workspaces/{workspace_id}/lease-policies", "Leases", "getLeasePolicies"],
      ["put /workspaces/{workspace_id}/lease-policies", "Leases", "setLeasePolicies"],
    ])
      expect(operations).toContainEqual(expected);
  });
});
