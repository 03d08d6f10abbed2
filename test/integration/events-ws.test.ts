import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import WebSocket from "ws";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { MemberRole } from "../../lib/gen/drover/v1/operator_pb.ts";
import { createCertificateRequest, generateKeyPair } from "../../lib/pki/index.ts";
import { httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";

setDefaultTimeout(30_000);

let fleet: InProcessFleet;
let call: ReturnType<typeof httpsClient>;
let adminToken: string;
let caPem: string;

type Json = Record<string, unknown>;

/** A WebSocket client that keeps every message it receives. */
async function connect(token?: string) {
  const url = `wss://${fleet.server.endpoints.http}/v1/events${token ? `?token=${token}` : ""}`;
  const ws = new WebSocket(url, { ca: caPem });
  const messages: Json[] = [];
  ws.on("message", (raw) => messages.push(JSON.parse(raw.toString()) as Json));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const waitFor = async (predicate: (all: Json[]) => boolean, what: string) => {
    const deadline = Date.now() + 5000;
    while (!predicate(messages)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const subscribe = async (payload: Json) => {
    const before = messages.length;
    ws.send(JSON.stringify({ action: "subscribe", ...payload }));
    await waitFor(
      (all) => all.slice(before).some((m) => m.type === "subscribed" || m.type === "error"),
      "subscribe ack",
    );
  };
  return {
    ws,
    messages,
    waitFor,
    subscribe,
    events: () => messages.filter((m) => typeof m.seq === "number"),
  };
}

async function post(path: string, payload: unknown, token = adminToken): Promise<Json> {
  const result = await call("POST", path, { token, body: payload });
  if (result.status >= 300) throw new Error(`${path}: ${result.status} ${result.text}`);
  return result.body as Json;
}

async function registerAgentIn(workspaceId: string): Promise<string> {
  const { token } = await post(`/v1/workspaces/${workspaceId}/agents/tokens`, {});
  const response = await fleet.registration.register({
    token: token as string,
    role: Role.AGENT,
    csr: await createCertificateRequest(await generateKeyPair()),
    hostname: "ws-agent",
  });
  return response.id;
}

beforeAll(async () => {
  fleet = await startInProcessFleet();
  caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
  call = httpsClient(`https://${fleet.server.endpoints.http}`, { caPem });
  const first = fleet.server.firstAdmin as { email: string; password: string };
  adminToken = ((await call("POST", "/v1/auth/login", { body: first })).body as Json)
    .access_token as string;
});
afterAll(() => fleet.stop());

describe("GET /v1/events (WebSocket)", () => {
  test("without credentials the upgrade is refused", async () => {
    const ws = new WebSocket(`wss://${fleet.server.endpoints.http}/v1/events`, { ca: caPem });
    const status = await new Promise<number>((resolve) => {
      ws.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
      ws.once("open", () => resolve(101));
    });
    expect(status).toBe(401);
  });

  test("two subscribers with different filters each get exactly their events", async () => {
    const org = await post("/v1/organizations", { name: "Events", slug: "events" });
    const one = await post(`/v1/organizations/${org.id}/workspaces`, { name: "One", slug: "one" });
    const two = await post(`/v1/organizations/${org.id}/workspaces`, { name: "Two", slug: "two" });
    const agents = await connect(adminToken);
    const workspaces = await connect(adminToken);
    await agents.subscribe({ events: ["agent.*"], filter: { workspace_id: one.id } });
    await workspaces.subscribe({ events: ["workspace.*"] });

    const inOne = await registerAgentIn(one.id as string);
    await registerAgentIn(two.id as string);
    const three = await post(`/v1/organizations/${org.id}/workspaces`, {
      name: "Three",
      slug: "three",
    });
    await call("DELETE", `/v1/agents/${inOne}`, { token: adminToken });

    await agents.waitFor((all) => all.some((m) => m.type === "agent.deleted"), "agent.deleted");
    await workspaces.waitFor(
      (all) => all.some((m) => m.type === "workspace.created"),
      "workspace.created",
    );
    expect(agents.events().map((m) => [m.type, (m.data as Json).agent_id])).toEqual([
      ["agent.registered", inOne],
      ["agent.deleted", inOne],
    ]);
    expect(agents.events().every((m) => (m.data as Json).workspace_id === one.id)).toBe(true);
    expect(workspaces.events().map((m) => [m.type, (m.data as Json).workspace_id])).toEqual([
      ["workspace.created", three.id],
    ]);
    agents.ws.close();
    workspaces.ws.close();
  });

  test("a subscriber that reconnects with `after` gets what it missed, once, in order", async () => {
    const first = await connect(adminToken);
    await first.subscribe({ events: ["organization.*"] });
    await post("/v1/organizations", { name: "R0", slug: "r0" });
    await first.waitFor((all) => all.some((m) => m.type === "organization.created"), "first event");
    const lastSeen = first.events().at(-1)?.seq as number;
    first.ws.close();

    const missed: unknown[] = [];
    for (const slug of ["r1", "r2", "r3"])
      missed.push((await post("/v1/organizations", { name: slug, slug })).id);

    const resumed = await connect(adminToken);
    await resumed.subscribe({ events: ["organization.*"], after: lastSeen });
    await resumed.waitFor(
      (all) => all.filter((m) => typeof m.seq === "number").length >= 3,
      "replay",
    );
    const live = await post("/v1/organizations", { name: "r4", slug: "r4" });
    await resumed.waitFor(
      (all) => all.filter((m) => typeof m.seq === "number").length >= 4,
      "live event",
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const received = resumed.events();
    expect(received.map((m) => (m.data as Json).organization_id)).toEqual([...missed, live.id]);
    const seqs = received.map((m) => m.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs[0]).toBeGreaterThan(lastSeen);
    resumed.ws.close();
  });

  test("a viewer only sees its own organization's events; bad messages get an error, not a disconnect", async () => {
    const mine = await post("/v1/organizations", { name: "Seen", slug: "seen" });
    const other = await post("/v1/organizations", { name: "Unseen", slug: "unseen" });
    await fleet.operator.createUser({
      email: "watcher@seen.example",
      password: "watcher-password-1",
      role: MemberRole.VIEWER,
      organizationSlug: "seen",
    });
    const login = await call("POST", "/v1/auth/login", {
      body: { email: "watcher@seen.example", password: "watcher-password-1" },
    });
    const viewer = await connect((login.body as Json).access_token as string);
    await viewer.subscribe({ events: ["bad pattern!"] });
    expect(viewer.messages.at(-1)).toMatchObject({
      type: "error",
      error: { code: "VALIDATION_ERROR" },
    });
    await viewer.subscribe({
      events: ["workspace.*"],
      filter: { workspace_id: "ws-000000000000" },
    });
    expect(viewer.messages.at(-1)).toMatchObject({ type: "error", error: { code: "NOT_FOUND" } });
    await viewer.subscribe({ events: ["workspace.*"] });
    await post(`/v1/organizations/${other.id}/workspaces`, { name: "Hidden", slug: "hidden" });
    const visible = await post(`/v1/organizations/${mine.id}/workspaces`, {
      name: "Shown",
      slug: "shown",
    });
    await viewer.waitFor(
      (all) => all.some((m) => m.type === "workspace.created"),
      "own workspace event",
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(viewer.events().map((m) => (m.data as Json).workspace_id)).toEqual([visible.id]);
    viewer.ws.close();
  });
});
