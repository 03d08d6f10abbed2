import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import type {
  AlertThresholds,
  Organization,
  Workspace,
} from "../../lib/gen/drover/v1/operator_pb.ts";
import { createCertificateRequest, generateKeyPair } from "../../lib/pki/index.ts";
import { httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";

setDefaultTimeout(30_000);

let fleet: InProcessFleet;
let call: ReturnType<typeof httpsClient>;
let token: string;
type Json = Record<string, unknown>;

beforeAll(async () => {
  fleet = await startInProcessFleet();
  call = httpsClient(`https://${fleet.server.endpoints.http}`, {
    caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
  });
  const first = fleet.server.firstAdmin as { email: string; password: string };
  token = ((await call("POST", "/v1/auth/login", { body: first })).body as Json)
    .access_token as string;
});
afterAll(() => fleet.stop());

const rest = async (method: string, path: string, body?: unknown) =>
  (await call(method, path, { token, body })).body as Json;

/** The gRPC message in the REST shape, to compare field by field. */
function organizationAsRest(message: Organization | undefined) {
  return {
    id: message?.id,
    name: message?.name,
    slug: message?.slug,
    created_at: message?.createdAt && timestampDate(message.createdAt).toISOString(),
    updated_at: message?.updatedAt && timestampDate(message.updatedAt).toISOString(),
  };
}

function thresholdsAsRest(message: AlertThresholds) {
  const out: Record<string, { warning: number; clear: number; critical?: number }> = {};
  for (const [name, threshold] of [
    ["cpu_percent", message.cpuPercent],
    ["memory_percent", message.memoryPercent],
    ["disk_percent", message.diskPercent],
  ] as const) {
    if (!threshold) continue;
    const { warning, clear, critical } = threshold;
    out[name] = { warning, clear, ...(critical === undefined ? {} : { critical }) };
  }
  return out;
}

function workspaceAsRest(message: Workspace | undefined) {
  return {
    id: message?.id,
    organization_id: message?.organizationId,
    name: message?.name,
    slug: message?.slug,
    global_settings: message?.globalSettings
      ? {
          nginx_directives: message.globalSettings.nginxDirectives,
          env_vars: message.globalSettings.envVars,
        }
      : null,
    alert_thresholds: message?.alertThresholds ? thresholdsAsRest(message.alertThresholds) : null,
    created_at: message?.createdAt && timestampDate(message.createdAt).toISOString(),
    updated_at: message?.updatedAt && timestampDate(message.updatedAt).toISOString(),
  };
}

describe("REST and the operator gRPC service see the same objects", () => {
  test("organizations and workspaces made on one side read the same on the other", async () => {
    const { organization } = await fleet.operator.createOrganization({
      name: "Parity",
      slug: "parity",
    });
    expect(await rest("GET", `/v1/organizations/${organization?.id}`)).toEqual(
      organizationAsRest(organization),
    );

    const workspace = await rest("POST", `/v1/organizations/${organization?.id}/workspaces`, {
      name: "W",
      slug: "w",
    });
    const viaGrpc = await fleet.operator.getWorkspace({ id: workspace.id as string });
    expect(workspace).toEqual(workspaceAsRest(viaGrpc.workspace));

    const renamed = await fleet.operator.updateOrganization({
      id: organization?.id ?? "",
      name: "Parity 2",
    });
    expect(await rest("GET", `/v1/organizations/${organization?.id}`)).toEqual(
      organizationAsRest(renamed.organization),
    );

    const listed = await fleet.operator.listOrganizations({ perPage: 100 });
    const restListed = await rest("GET", "/v1/organizations?per_page=100");
    expect(restListed.data as Json[]).toEqual(listed.organizations.map(organizationAsRest));
    expect(listed.total).toBe((restListed.meta as Json).total as number);

    await rest("DELETE", `/v1/workspaces/${workspace.id}`);
    const gone = await fleet.operator
      .getWorkspace({ id: workspace.id as string })
      .catch((error: unknown) => ConnectError.from(error));
    expect((gone as ConnectError).code).toBe(Code.NotFound);
  });

  test("the same validation refuses the same input on both sides", async () => {
    const grpcError = await fleet.operator
      .createOrganization({ name: "Bad", slug: "Not A Slug" })
      .catch((error: unknown) => ConnectError.from(error));
    expect((grpcError as ConnectError).code).toBe(Code.InvalidArgument);
    const restError = (await rest("POST", "/v1/organizations", { name: "Bad", slug: "Not A Slug" }))
      .error as Json;
    expect(restError.code).toBe("VALIDATION_ERROR");
    expect((grpcError as ConnectError).rawMessage).toBe(restError.message as string);
    const tooBig = await fleet.operator
      .listOrganizations({ perPage: 1000 })
      .catch((error: unknown) => ConnectError.from(error));
    expect((tooBig as ConnectError).code).toBe(Code.InvalidArgument);
    expect((tooBig as ConnectError).rawMessage).toContain("per_page");
  });

  test("UpdateAgent and PATCH /agents agree", async () => {
    const { token: joinToken } = await fleet.operator.createJoinToken({ role: Role.AGENT });
    const registered = await fleet.registration.register({
      token: joinToken,
      role: Role.AGENT,
      csr: await createCertificateRequest(await generateKeyPair()),
      hostname: "parity-agent",
    });
    const updated = await fleet.operator.updateAgent({
      id: registered.id,
      name: "renamed",
      labels: { values: { a: "1" } },
    });
    expect(updated.agent?.labels).toEqual({ a: "1" });
    const viaRest = await rest("GET", `/v1/agents/${registered.id}`);
    // A token without a workspace joins the agent to the default one.
    expect(updated.agent?.workspaceId).toMatch(/./);
    expect(viaRest).toMatchObject({
      name: "renamed",
      labels: { a: "1" },
      workspace_id: updated.agent?.workspaceId,
    });
  });
});

describe("WatchEvents", () => {
  test("streams live events matching the filter, and replays from after_seq", async () => {
    const controller = new AbortController();
    const received: Array<{ seq: bigint; type: string; data: Json }> = [];
    const stream = fleet.operator.watchEvents(
      { types: ["organization.created"] },
      { signal: controller.signal },
    );
    const reading = (async () => {
      for await (const event of stream) {
        received.push({ seq: event.seq, type: event.type, data: (event.data ?? {}) as Json });
        if (received.length === 2) controller.abort();
      }
    })().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const a = await rest("POST", "/v1/organizations", { name: "Watch A", slug: "watch-a" });
    await rest("POST", `/v1/organizations/${a.id}/workspaces`, {
      name: "ignored",
      slug: "ignored",
    });
    const b = await rest("POST", "/v1/organizations", { name: "Watch B", slug: "watch-b" });
    await reading;
    expect(received.map((event) => event.data.organization_id)).toEqual([a.id, b.id]);
    expect(received[1]?.seq).toBeGreaterThan(received[0]?.seq ?? 0n);

    // Resume after the first: the second comes back from the store.
    const replay = new AbortController();
    const replayed: string[] = [];
    await (async () => {
      for await (const event of fleet.operator.watchEvents(
        { types: ["organization.*"], afterSeq: received[0]?.seq },
        { signal: replay.signal },
      )) {
        replayed.push(String((event.data as Json).organization_id));
        replay.abort();
      }
    })().catch((error: unknown) => expect(ConnectError.from(error).code).toBe(Code.Canceled));
    expect(replayed).toEqual([b.id as string]);
  });

  test("a bad pattern is refused", async () => {
    const error = await (async () => {
      for await (const _ of fleet.operator.watchEvents({ types: ["nope!"] })) break;
    })().catch((reason: unknown) => ConnectError.from(reason));
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
  });
});
