import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { AgentState, MemberRole } from "../../lib/gen/drover/v1/operator_pb.ts";
import {
  createCertificateRequest,
  exportPrivateKeyPem,
  generateKeyPair,
} from "../../lib/pki/index.ts";
import { type HttpResult, httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";

setDefaultTimeout(30_000);

let fleet: InProcessFleet;
let call: ReturnType<typeof httpsClient>;
let adminToken: string;

type Json = Record<string, unknown>;
const body = (result: HttpResult) => result.body as Json;
const data = (result: HttpResult) => body(result).data as Json[];

function expectError(result: HttpResult, status: number, code: string): Json {
  expect(result.status).toBe(status);
  const error = body(result).error as Json;
  expect(error.code).toBe(code);
  expect(error.request_id).toMatch(/^req-[0-9a-f]{16}$/);
  expect(result.headers["x-request-id"]).toBe(error.request_id as string);
  expect(error.message).toBeString();
  return error;
}

async function loginAs(email: string, password: string): Promise<string> {
  const result = await call("POST", "/v1/auth/login", { body: { email, password } });
  expect(result.status).toBe(200);
  return body(result).access_token as string;
}

async function createUser(email: string, role: MemberRole, organizationSlug = ""): Promise<string> {
  const password = `pw-${email}-long-enough`;
  await fleet.operator.createUser({ email, password, role, organizationSlug });
  return loginAs(email, password);
}

async function post(path: string, payload: unknown, token = adminToken) {
  return call("POST", path, { token, body: payload });
}

beforeAll(async () => {
  fleet = await startInProcessFleet();
  const caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
  call = httpsClient(`https://${fleet.server.endpoints.http}`, { caPem });
  const first = fleet.server.firstAdmin;
  if (!first) throw new Error("a fresh server must create its first admin");
  adminToken = await loginAs(first.email, first.password);
});
afterAll(() => fleet.stop());

describe("auth", () => {
  test("login returns the NxMesh token shape; wrong passwords and unknown fields are refused", async () => {
    const first = fleet.server.firstAdmin as { email: string; password: string };
    const ok = await call("POST", "/v1/auth/login", { body: first });
    expect(body(ok)).toMatchObject({ token_type: "Bearer", expires_in: 900 });
    expect(body(ok).refresh_token).toBeString();
    expectError(
      await call("POST", "/v1/auth/login", { body: { ...first, password: "wrong-password-x" } }),
      401,
      "UNAUTHORIZED",
    );
    expectError(
      await call("POST", "/v1/auth/login", {
        body: { email: "nobody@x.io", password: "whatever-long" },
      }),
      401,
      "UNAUTHORIZED",
    );
    const unknown = expectError(
      await call("POST", "/v1/auth/login", { body: { ...first, extra: 1 } }),
      422,
      "VALIDATION_ERROR",
    );
    expect(unknown.details).toEqual([
      { field: "extra", message: "unknown field", code: "UNKNOWN_FIELD" },
    ]);
    expectError(
      await call("POST", "/v1/auth/login", { rawBody: "{not json" }),
      422,
      "VALIDATION_ERROR",
    );
  });

  test("refresh rotates the refresh token (reuse: test/security/refresh-grace.test.ts)", async () => {
    const first = fleet.server.firstAdmin as { email: string; password: string };
    const login = body(await call("POST", "/v1/auth/login", { body: first }));
    const rotated = await call("POST", "/v1/auth/refresh", {
      body: { refresh_token: login.refresh_token },
    });
    expect(rotated.status).toBe(200);
    const next = body(rotated);
    expect(next.refresh_token).not.toBe(login.refresh_token);
    expect(
      (await call("GET", "/v1/organizations", { token: next.access_token as string })).status,
    ).toBe(200);
  });

  test("every other route needs credentials", async () => {
    expectError(await call("GET", "/v1/organizations"), 401, "UNAUTHORIZED");
    expectError(
      await call("GET", "/v1/organizations", { token: "not-a-jwt" }),
      401,
      "UNAUTHORIZED",
    );
  });

  test("an operator client certificate works instead of a bearer token; an agent's does not", async () => {
    const dir = join(fleet.dir, "server");
    const caPem = readFileSync(join(dir, "ca.pem"), "utf8");
    const asAdmin = httpsClient(`https://${fleet.server.endpoints.http}`, {
      caPem,
      certificatePem: readFileSync(join(dir, "admin.pem"), "utf8"),
      privateKeyPem: readFileSync(join(dir, "admin.key"), "utf8"),
    });
    expect((await asAdmin("GET", "/v1/organizations")).status).toBe(200);
    const { token } = await fleet.operator.createJoinToken({ role: Role.AGENT });
    const keys = await generateKeyPair();
    const registered = await fleet.registration.register({
      token,
      role: Role.AGENT,
      csr: await createCertificateRequest(keys),
      hostname: "cert-agent",
    });
    const asAgent = httpsClient(`https://${fleet.server.endpoints.http}`, {
      caPem,
      certificatePem: registered.certificate?.certificatePem,
      privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    });
    expectError(await asAgent("GET", "/v1/organizations"), 403, "FORBIDDEN");
  });
});

describe("organizations and workspaces", () => {
  test("create, conflict on a taken slug, get, patch, paginate, delete", async () => {
    const created = await post("/v1/organizations", { name: "Acme Corp", slug: "acme" });
    expect(created.status).toBe(201);
    const acme = body(created);
    expect(acme).toMatchObject({ name: "Acme Corp", slug: "acme" });
    expect(acme.id).toMatch(/^org-[0-9a-f]{12}$/);
    expectError(await post("/v1/organizations", { name: "Other", slug: "acme" }), 409, "CONFLICT");

    const patched = await call("PATCH", `/v1/organizations/${acme.id}`, {
      token: adminToken,
      body: { name: "Acme Inc" },
    });
    expect(body(patched)).toMatchObject({ id: acme.id, name: "Acme Inc", slug: "acme" });

    for (const slug of ["page-a", "page-b"]) await post("/v1/organizations", { name: slug, slug });
    // Four with the default organization the first start creates.
    const first = await call("GET", "/v1/organizations?page=1&per_page=3", { token: adminToken });
    const second = await call("GET", "/v1/organizations?page=2&per_page=3", { token: adminToken });
    expect(body(first).meta).toEqual({ page: 1, per_page: 3, total: 4 });
    expect(data(first)).toHaveLength(3);
    expect(data(second)).toHaveLength(1);
    const ids = [...data(first), ...data(second)].map((org) => org.id);
    expect(new Set(ids).size).toBe(4);
    expectError(
      await call("GET", "/v1/organizations?per_page=1000", { token: adminToken }),
      422,
      "VALIDATION_ERROR",
    );

    const doomed = body(await post("/v1/organizations", { name: "Doomed", slug: "doomed" }));
    expect(
      (await call("DELETE", `/v1/organizations/${doomed.id}`, { token: adminToken })).status,
    ).toBe(204);
    expectError(
      await call("GET", `/v1/organizations/${doomed.id}`, { token: adminToken }),
      404,
      "NOT_FOUND",
    );
  });

  test("workspace slugs are unique per organization, not across organizations", async () => {
    const one = body(await post("/v1/organizations", { name: "One", slug: "one" }));
    const two = body(await post("/v1/organizations", { name: "Two", slug: "two" }));
    expect(
      (await post(`/v1/organizations/${one.id}/workspaces`, { name: "Prod", slug: "prod" })).status,
    ).toBe(201);
    expectError(
      await post(`/v1/organizations/${one.id}/workspaces`, { name: "Prod 2", slug: "prod" }),
      409,
      "CONFLICT",
    );
    const other = await post(`/v1/organizations/${two.id}/workspaces`, {
      name: "Prod",
      slug: "prod",
    });
    expect(other.status).toBe(201);
    const workspace = body(other);
    expect(workspace.organization_id).toBe(two.id);
    const list = await call("GET", `/v1/organizations/${two.id}/workspaces`, { token: adminToken });
    expect(data(list).map((item) => item.id)).toEqual([workspace.id]);
    const renamed = await call("PATCH", `/v1/workspaces/${workspace.id}`, {
      token: adminToken,
      body: { name: "Production" },
    });
    expect(body(renamed).name).toBe("Production");
    expect(
      (await call("DELETE", `/v1/workspaces/${workspace.id}`, { token: adminToken })).status,
    ).toBe(204);
    expectError(
      await call("GET", `/v1/workspaces/${workspace.id}`, { token: adminToken }),
      404,
      "NOT_FOUND",
    );
  });

  test("a viewer reads its organization, cannot write, and cannot see another organization", async () => {
    const mine = body(await post("/v1/organizations", { name: "Mine", slug: "mine" }));
    const theirs = body(await post("/v1/organizations", { name: "Theirs", slug: "theirs" }));
    const theirWorkspace = body(
      await post(`/v1/organizations/${theirs.id}/workspaces`, { name: "W", slug: "w" }),
    );
    const viewer = await createUser("viewer@mine.example", MemberRole.VIEWER, "mine");

    expect((await call("GET", `/v1/organizations/${mine.id}`, { token: viewer })).status).toBe(200);
    const visible = await call("GET", "/v1/organizations", { token: viewer });
    expect(data(visible).map((org) => org.id)).toEqual([mine.id]);
    expectError(
      await post(`/v1/organizations/${mine.id}/workspaces`, { name: "X", slug: "x" }, viewer),
      403,
      "FORBIDDEN",
    );
    expectError(
      await call("PATCH", `/v1/organizations/${mine.id}`, { token: viewer, body: { name: "Y" } }),
      403,
      "FORBIDDEN",
    );
    // Another organization's objects do not exist for this viewer: 404, not 403.
    expectError(
      await call("GET", `/v1/organizations/${theirs.id}`, { token: viewer }),
      404,
      "NOT_FOUND",
    );
    expectError(
      await call("GET", `/v1/workspaces/${theirWorkspace.id}`, { token: viewer }),
      404,
      "NOT_FOUND",
    );
    expectError(
      await call("DELETE", `/v1/workspaces/${theirWorkspace.id}`, { token: viewer }),
      404,
      "NOT_FOUND",
    );
    expectError(
      await post("/v1/organizations", { name: "Z", slug: "z" }, viewer),
      403,
      "FORBIDDEN",
    );
  });

  test("random invalid organization bodies are always 422 and change nothing", async () => {
    const countBefore = (await fleet.server.fleet.deps.store.organizations.count({})) as number;
    const invalidBodies = fc.oneof(
      fc.record({
        name: fc.string({ maxLength: 20 }),
        slug: fc.string().filter((s) => !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(s)),
      }),
      fc.record({
        name: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null)),
        slug: fc.constant("ok-slug"),
      }),
      fc.record({
        name: fc.constant("n"),
        slug: fc.constant("ok-slug"),
        // JSON drops undefined, which would make the body valid.
        extra: fc.anything().filter((value) => value !== undefined),
      }),
      fc.record({ slug: fc.constant("missing-name") }),
      fc.array(fc.anything(), { maxLength: 3 }),
    );
    await fc.assert(
      fc.asyncProperty(invalidBodies, async (payload) => {
        const result = await post("/v1/organizations", payload);
        expectError(result, 422, "VALIDATION_ERROR");
      }),
      { numRuns: 60 },
    );
    expect(await fleet.server.fleet.deps.store.organizations.count({})).toBe(countBefore);
  });
});

describe("agents", () => {
  test("a workspace token puts the agent in the workspace; list, filter, get, patch, delete", async () => {
    const org = body(await post("/v1/organizations", { name: "Lab", slug: "lab" }));
    const workspace = body(
      await post(`/v1/organizations/${org.id}/workspaces`, { name: "Bench", slug: "bench" }),
    );
    const minted = await post(`/v1/workspaces/${workspace.id}/agents/tokens`, {
      name: "pi-1",
      labels: { env: "lab" },
      expires_in_hours: 1,
    });
    expect(minted.status).toBe(201);
    const keys = await generateKeyPair();
    const registered = await fleet.registration.register({
      token: body(minted).token as string,
      role: Role.AGENT,
      csr: await createCertificateRequest(keys),
      hostname: "pi-1",
      ip: "192.0.2.7",
    });
    const agentId = registered.id;

    const listed = await call("GET", `/v1/workspaces/${workspace.id}/agents`, {
      token: adminToken,
    });
    expect(data(listed)).toHaveLength(1);
    expect(data(listed)[0]).toMatchObject({
      id: agentId,
      workspace_id: workspace.id,
      hostname: "pi-1",
      ip_address: "192.0.2.7",
      labels: { env: "lab" },
      state: "offline",
    });
    const match = await call(
      "GET",
      `/v1/workspaces/${workspace.id}/agents?label_selector=env%3Dlab&state=offline`,
      { token: adminToken },
    );
    expect(data(match)).toHaveLength(1);
    const miss = await call(
      "GET",
      `/v1/workspaces/${workspace.id}/agents?label_selector=env%3Dprod`,
      { token: adminToken },
    );
    expect(data(miss)).toHaveLength(0);
    expectError(
      await call("GET", `/v1/workspaces/${workspace.id}/agents?label_selector=a%3Db%3Dc`, {
        token: adminToken,
      }),
      422,
      "VALIDATION_ERROR",
    );

    const single = await call("GET", `/v1/agents/${agentId}`, { token: adminToken });
    expect(body(single)).toMatchObject({ id: agentId, health: null });
    const patched = await call("PATCH", `/v1/agents/${agentId}`, {
      token: adminToken,
      body: { labels: { env: "lab", tier: "edge" } },
    });
    expect(body(patched).labels).toEqual({ env: "lab", tier: "edge" });
    expectError(
      await call("PATCH", `/v1/agents/${agentId}`, {
        token: adminToken,
        body: { labels: { "bad key": "x" } },
      }),
      422,
      "VALIDATION_ERROR",
    );
    // REST and gRPC see the same agent.
    const viaGrpc = (await fleet.operator.getAgent({ id: agentId })).agent;
    expect(viaGrpc?.labels).toEqual({ env: "lab", tier: "edge" });
    expect(viaGrpc?.state).toBe(AgentState.OFFLINE);

    expect((await call("DELETE", `/v1/agents/${agentId}`, { token: adminToken })).status).toBe(204);
    expectError(
      await call("GET", `/v1/agents/${agentId}`, { token: adminToken }),
      404,
      "NOT_FOUND",
    );
  });
});

describe("API description", () => {
  test("openapi.json is generated from the same schemas and /v1/docs renders it", async () => {
    const spec = await call("GET", "/v1/openapi.json");
    expect(spec.status).toBe(200);
    const paths = Object.keys((body(spec).paths ?? {}) as Json);
    for (const path of [
      "/auth/login",
      "/organizations",
      "/workspaces/{workspace_id}/agents",
      "/agents/{agent_id}",
    ]) {
      expect(paths).toContain(path);
    }
    const docs = await call("GET", "/v1/docs");
    expect(docs.status).toBe(200);
    expect(docs.headers["content-security-policy"]).toContain("default-src 'none'");
    // The renderer comes from this server (no CDN), without credentials.
    expect(docs.text).toContain('src="docs/swagger-ui-bundle.js"');
    const renderer = await call("GET", "/v1/docs/swagger-ui-bundle.js");
    expect(renderer.status).toBe(200);
    expect(renderer.text).toContain("SwaggerUIBundle");
  });

  test("every operation serves client generators: unique operationId, summary, description, declared tag", async () => {
    type Operation = {
      operationId?: string;
      summary?: string;
      description?: string;
      tags?: string[];
    };
    const spec = body(await call("GET", "/v1/openapi.json"));
    const declared = (spec.tags as { name: string; description: string }[]).map((tag) => tag.name);
    const operations = Object.values(
      spec.paths as Record<string, Record<string, Operation>>,
    ).flatMap((item) => Object.values(item));
    const ids = operations.map((operation) => operation.operationId);
    expect(new Set(ids).size).toBe(operations.length);
    for (const operation of operations) {
      expect(operation.operationId).toMatch(/^[a-z][A-Za-z]+$/);
      expect(operation.summary).toBeString();
      expect(operation.description).toBeString();
      expect(operation.tags?.length).toBe(1);
      expect(declared).toContain(operation.tags?.[0] as string);
    }
    // Named as the operator gRPC methods where one exists.
    expect(ids).toContain("listOrganizations");
    expect(ids).toContain("createVirtualHost");
    expect(ids).toContain("listAgents");
  });
});

test("the rate limit answers 429 RATE_LIMITED with Retry-After", async () => {
  const limited = await startInProcessFleet({ rateLimitPerMinute: 3 });
  try {
    const limitedCall = httpsClient(`https://${limited.server.endpoints.http}`, {
      caPem: limited.server.fleet.deps.authority.ca.certificatePem,
    });
    const first = limited.server.firstAdmin as { email: string; password: string };
    const token = body(await limitedCall("POST", "/v1/auth/login", { body: first }))
      .access_token as string;
    const statuses: number[] = [];
    let last: HttpResult | undefined;
    for (let i = 0; i < 4; i++) {
      last = await limitedCall("GET", "/v1/organizations", { token });
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const error = expectError(last as HttpResult, 429, "RATE_LIMITED");
    expect(error.message).toMatch(/retry in \d+s/);
    expect(Number(last?.headers["retry-after"])).toBeGreaterThan(0);
  } finally {
    await limited.stop();
  }
});
