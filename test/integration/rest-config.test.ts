import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import type { FleetEvent } from "../../lib/events/index.ts";
import { MemberRole } from "../../lib/gen/drover/v1/operator_pb.ts";
import { compileNginxConfig, nginxModelFromRows } from "../../lib/nginx/index.ts";
import { makePrefix, nginxTest } from "../../lib/nginx/testing.ts";
import type { NewAccessLog, UpstreamRow, VirtualHostRow } from "../../lib/store/index.ts";
import { type HttpResult, httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";
import { newAgent } from "../support/store-data.ts";

setDefaultTimeout(60_000);

let fleet: InProcessFleet;
let call: ReturnType<typeof httpsClient>;
let adminToken: string;
const events: FleetEvent[] = [];

type Json = Record<string, unknown>;
const body = (result: HttpResult) => result.body as Json;
const data = (result: HttpResult) => body(result).data as Json[];

function expectError(result: HttpResult, status: number, code: string): Json {
  expect({ status: result.status, body: result.body }).toMatchObject({ status });
  const error = body(result).error as Json;
  expect(error.code).toBe(code);
  expect(error.request_id).toMatch(/^req-[0-9a-f]{16}$/);
  return error;
}

/** A 422 whose details name exactly this field; returns the detail's message. */
function expectInvalid(result: HttpResult, field: string): string {
  const error = expectError(result, 422, "VALIDATION_ERROR");
  const details = error.details as { field: string; message: string; code: string }[];
  expect(details.map((detail) => detail.field)).toContain(field);
  return details.find((detail) => detail.field === field)?.message ?? "";
}

async function loginAs(email: string, password: string): Promise<string> {
  const result = await call("POST", "/v1/auth/login", { body: { email, password } });
  expect(result.status).toBe(200);
  return body(result).access_token as string;
}

const get = (path: string, token = adminToken) => call("GET", path, { token });
const post = (path: string, payload: unknown, token = adminToken) =>
  call("POST", path, { token, body: payload });
const patch = (path: string, payload: unknown, token = adminToken) =>
  call("PATCH", path, { token, body: payload });
const del = (path: string, token = adminToken) => call("DELETE", path, { token });

async function created(result: Promise<HttpResult>): Promise<Json> {
  const done = await result;
  expect({ status: done.status, body: done.body }).toMatchObject({ status: 201 });
  return body(done);
}

let unique = 0;
/** A fresh organization with one workspace. */
async function newWorkspace(): Promise<{ org: Json; workspace: Json }> {
  const slug = `cfg-${++unique}`;
  const org = await created(post("/v1/organizations", { name: slug, slug }));
  const workspace = await created(
    post(`/v1/organizations/${org.id}/workspaces`, { name: "Prod", slug: "prod" }),
  );
  return { org, workspace };
}

/** A new user who is a viewer of the organization, logged in: their access token. */
async function viewerOf(org: Json): Promise<string> {
  const email = `viewer-${++unique}@cfg.example`;
  const password = `pw-${email}-long-enough`;
  await fleet.operator.createUser({
    email,
    password,
    role: MemberRole.VIEWER,
    organizationSlug: org.slug as string,
  });
  return loginAs(email, password);
}

const server = (address: string, extra: Json = {}) => ({ address, ...extra });

beforeAll(async () => {
  // The property tests send hundreds of requests; the rate limit is tested elsewhere.
  fleet = await startInProcessFleet({ rateLimitPerMinute: 1_000_000 });
  fleet.server.fleet.deps.events.subscribe((event) => events.push(event));
  const caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
  call = httpsClient(`https://${fleet.server.endpoints.http}`, { caPem });
  const first = fleet.server.firstAdmin;
  if (!first) throw new Error("a fresh server must create its first admin");
  adminToken = await loginAs(first.email, first.password);
});
afterAll(() => fleet.stop());

describe("certificates", () => {
  test("request, list with pages, get, conflict, delete", async () => {
    const { org, workspace } = await newWorkspace();
    const base = `/v1/workspaces/${workspace.id}/certificates`;
    const cert = await created(post(base, { domain: "api.example.com", provider: "letsencrypt" }));
    expect(cert).toEqual({
      id: expect.stringMatching(/^cert-[0-9a-f]{12}$/),
      workspace_id: workspace.id,
      domain: "api.example.com",
      is_wildcard: false,
      provider: "letsencrypt",
      status: "pending",
      status_message: null,
      issued_at: null,
      expires_at: null,
      auto_renew: true,
      created_at: expect.any(String),
    });
    expect(new Date(cert.created_at as string).toISOString()).toBe(cert.created_at as string);
    const wildcard = await created(
      post(base, { domain: "*.Example.COM", provider: "acme", auto_renew: false }),
    );
    expect(wildcard).toMatchObject({
      domain: "*.example.com",
      is_wildcard: true,
      auto_renew: false,
    });
    await created(post(base, { domain: "internal.lan", provider: "internal" }));

    const conflict = expectError(
      await post(base, { domain: "API.example.com", provider: "internal" }),
      409,
      "CONFLICT",
    );
    expect(conflict.message).toContain("api.example.com");

    const first = await get(`${base}?page=1&per_page=2`);
    const second = await get(`${base}?page=2&per_page=2`);
    expect(body(first).meta).toEqual({ page: 1, per_page: 2, total: 3 });
    expect(body(second).meta).toEqual({ page: 2, per_page: 2, total: 3 });
    expect([...data(first), ...data(second)].map((item) => item.domain)).toEqual([
      "api.example.com",
      "*.example.com",
      "internal.lan",
    ]);
    expect(body(await get(`/v1/certificates/${cert.id}`))).toEqual(cert);

    expect((await del(`/v1/certificates/${cert.id}`)).status).toBe(204);
    expectError(await get(`/v1/certificates/${cert.id}`), 404, "NOT_FOUND");
    expectError(await del(`/v1/certificates/${cert.id}`), 404, "NOT_FOUND");
    const types = events
      .filter((event) => event.subjectId === cert.id)
      .map((event) => [event.type, event.data]);
    const scope = { workspace_id: workspace.id, organization_id: org.id };
    const about = { certificate_id: cert.id, domain: "api.example.com", provider: "letsencrypt" };
    expect(types).toEqual([
      ["certificate.created", { ...about, ...scope }],
      ["certificate.deleted", { ...about, ...scope }],
    ]);
  });

  test("validation names the field", async () => {
    const { workspace } = await newWorkspace();
    const base = `/v1/workspaces/${workspace.id}/certificates`;
    for (const domain of ["", "bad_domain.com", "-x.com", "a..b", "*", "*.", "~^x$", "a.*.com"]) {
      expectInvalid(await post(base, { domain, provider: "internal" }), "domain");
    }
    expectInvalid(await post(base, { domain: "x.com", provider: "self" }), "provider");
    expectInvalid(await post(base, { domain: "x.com" }), "provider");
    expectInvalid(
      await post(base, { domain: "x.com", provider: "acme", auto_renew: "yes" }),
      "auto_renew",
    );
    expectInvalid(
      await post(base, { domain: "x.com", provider: "acme", status: "active" }),
      "status",
    );
    expect((await get(base)).body).toMatchObject({ meta: { total: 0 } });
  });
});

describe("upstreams", () => {
  test("create with defaults, get, list with pages, patch, conflict, delete", async () => {
    const { org, workspace } = await newWorkspace();
    const base = `/v1/workspaces/${workspace.id}/upstreams`;
    const api = await created(
      post(base, { name: "api-backend", servers: [server("10.0.1.20:8080")] }),
    );
    expect(api).toEqual({
      id: expect.stringMatching(/^up-[0-9a-f]{12}$/),
      workspace_id: workspace.id,
      name: "api-backend",
      algorithm: "round_robin",
      hash_key: null,
      servers: [
        {
          address: "10.0.1.20:8080",
          weight: 1,
          backup: false,
          down: false,
          max_fails: 1,
          fail_timeout: 10,
        },
      ],
      keepalive: null,
      health_check: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const web = await created(
      post(base, {
        name: "web-backend",
        algorithm: "least_connections",
        servers: [
          server("10.0.1.30:8080", { weight: 2 }),
          server("web-2.internal:8080", { max_fails: 0, fail_timeout: 3600 }),
          server("[2001:db8::1]:443", { backup: true, down: true, weight: 1000 }),
        ],
        keepalive: 32,
        health_check: { enabled: true, path: "/health", interval: 10, timeout: 5 },
      }),
    );
    expect(web).toMatchObject({
      algorithm: "least_connections",
      keepalive: 32,
      health_check: { enabled: true, path: "/health", interval: 10, timeout: 5 },
    });
    expect((web.servers as Json[])[2]).toEqual({
      address: "[2001:db8::1]:443",
      weight: 1000,
      backup: true,
      down: true,
      max_fails: 1,
      fail_timeout: 10,
    });
    const hashed = await created(
      post(base, {
        name: "sticky",
        algorithm: "hash",
        hash_key: "$request_uri",
        servers: [server("a.lan:80"), server("b.lan:80")],
        health_check: { path: "/" },
      }),
    );
    expect(hashed).toMatchObject({
      hash_key: "$request_uri",
      health_check: { enabled: true, path: "/", interval: 10, timeout: 5 },
    });

    const first = await get(`${base}?per_page=2`);
    const second = await get(`${base}?page=2&per_page=2`);
    expect(body(first).meta).toEqual({ page: 1, per_page: 2, total: 3 });
    expect([...data(first), ...data(second)].map((item) => item.name)).toEqual([
      "api-backend",
      "web-backend",
      "sticky",
    ]);
    expect(body(await get(`/v1/upstreams/${web.id}`))).toEqual(web);

    expectError(
      await post(base, { name: "api-backend", servers: [server("x.lan:1")] }),
      409,
      "CONFLICT",
    );
    expectError(await patch(`/v1/upstreams/${web.id}`, { name: "api-backend" }), 409, "CONFLICT");

    const patched = await patch(`/v1/upstreams/${web.id}`, {
      servers: [server("10.0.1.30:8080", { weight: 3 })],
      health_check: null,
      keepalive: null,
    });
    expect(patched.status).toBe(200);
    expect(body(patched)).toMatchObject({
      name: "web-backend",
      algorithm: "least_connections",
      servers: [{ address: "10.0.1.30:8080", weight: 3, backup: false }],
      health_check: null,
      keepalive: null,
      created_at: web.created_at,
    });
    // Switching away from hash drops the key.
    const unhashed = await patch(`/v1/upstreams/${hashed.id}`, { algorithm: "ip_hash" });
    expect(body(unhashed)).toMatchObject({ algorithm: "ip_hash", hash_key: null });

    expect((await del(`/v1/upstreams/${api.id}`)).status).toBe(204);
    expectError(await get(`/v1/upstreams/${api.id}`), 404, "NOT_FOUND");
    const kinds = events.filter((event) => event.subjectId === web.id);
    expect(kinds.map((event) => event.type)).toEqual(["upstream.created", "upstream.updated"]);
    expect(kinds[0]?.data).toEqual({
      upstream_id: web.id,
      name: "web-backend",
      workspace_id: workspace.id,
      organization_id: org.id,
    });
    expect(events.some((e) => e.type === "upstream.deleted" && e.subjectId === api.id)).toBe(true);
  });

  test("every rule answers 422 naming the field", async () => {
    const { workspace } = await newWorkspace();
    const base = `/v1/workspaces/${workspace.id}/upstreams`;
    const ok = [server("10.0.0.1:80")];
    const cases: [Json, string][] = [
      [{ name: "u", servers: [] }, "servers"],
      [{ name: "u" }, "servers"],
      [{ name: "", servers: ok }, "name"],
      [{ name: "u", algorithm: "random", servers: ok }, "algorithm"],
      [{ name: "u", servers: [server("nohost")] }, "servers.0.address"],
      [{ name: "u", servers: [server("host:0")] }, "servers.0.address"],
      [{ name: "u", servers: [server("host:65536")] }, "servers.0.address"],
      [{ name: "u", servers: [server("bad_host:80")] }, "servers.0.address"],
      [{ name: "u", servers: [server("::1:80")] }, "servers.0.address"],
      [{ name: "u", servers: [server("[zz]:80")] }, "servers.0.address"],
      [{ name: "u", servers: [server("a.lan:80 b")] }, "servers.0.address"],
      [{ name: "u", servers: [...ok, server("a.lan:80", { weight: 0 })] }, "servers.1.weight"],
      [{ name: "u", servers: [server("a.lan:80", { weight: 1001 })] }, "servers.0.weight"],
      [{ name: "u", servers: [server("a.lan:80", { weight: 1.5 })] }, "servers.0.weight"],
      [{ name: "u", servers: [server("a.lan:80", { max_fails: 101 })] }, "servers.0.max_fails"],
      [{ name: "u", servers: [server("a.lan:80", { max_fails: -1 })] }, "servers.0.max_fails"],
      [{ name: "u", servers: [server("a.lan:80", { fail_timeout: 0 })] }, "servers.0.fail_timeout"],
      [
        { name: "u", servers: [server("a.lan:80", { fail_timeout: 3601 })] },
        "servers.0.fail_timeout",
      ],
      [{ name: "u", servers: [server("a.lan:80", { backup: "no" })] }, "servers.0.backup"],
      [{ name: "u", servers: [server("a.lan:80", { extra: 1 })] }, "servers.0.extra"],
      [{ name: "u", servers: [server("a.lan:80", { backup: true })] }, "servers"],
      [{ name: "u", servers: ok, keepalive: 1025 }, "keepalive"],
      [{ name: "u", servers: ok, keepalive: -1 }, "keepalive"],
      [{ name: "u", algorithm: "hash", servers: ok }, "hash_key"],
      [{ name: "u", algorithm: "hash", hash_key: "a b", servers: ok }, "hash_key"],
      [{ name: "u", algorithm: "hash", hash_key: "$", servers: ok }, "hash_key"],
      [{ name: "u", hash_key: "$remote_addr", servers: ok }, "hash_key"],
      [{ name: "u", algorithm: "hash", hash_key: "$no_such_var", servers: ok }, "hash_key"],
      [
        { name: "u", algorithm: "ip_hash", servers: [...ok, server("b.lan:80", { backup: true })] },
        "servers.1.backup",
      ],
      [
        {
          name: "u",
          algorithm: "hash",
          hash_key: "$remote_addr",
          servers: [...ok, server("b.lan:80", { backup: true })],
        },
        "servers.1.backup",
      ],
      [{ name: "u", servers: ok, health_check: { path: "health" } }, "health_check.path"],
      [{ name: "u", servers: ok, health_check: { path: "/a b" } }, "health_check.path"],
      [
        { name: "u", servers: ok, health_check: { path: "/", interval: 0 } },
        "health_check.interval",
      ],
      [
        { name: "u", servers: ok, health_check: { path: "/", interval: 3601 } },
        "health_check.interval",
      ],
      [{ name: "u", servers: ok, health_check: { path: "/", timeout: 0 } }, "health_check.timeout"],
      [
        { name: "u", servers: ok, health_check: { path: "/", interval: 5, timeout: 5 } },
        "health_check.timeout",
      ],
      [{ name: "u", servers: ok, extra: true }, "extra"],
    ];
    for (const [payload, field] of cases) {
      const message = expectInvalid(await post(base, payload), field);
      if (field === "servers.1.backup") expect(message).toContain("not allowed");
      if (field === "health_check.timeout" && message.includes("less")) {
        expect(message).toContain("health_check.interval");
      }
    }
    expect(body(await get(base)).meta).toMatchObject({ total: 0 });

    // A patch is checked against the whole upstream it makes.
    const withBackup = await created(
      post(base, { name: "b", servers: [...ok, server("b.lan:80", { backup: true })] }),
    );
    expectInvalid(
      await patch(`/v1/upstreams/${withBackup.id}`, { algorithm: "ip_hash" }),
      "servers.1.backup",
    );
    expectInvalid(await patch(`/v1/upstreams/${withBackup.id}`, { algorithm: "hash" }), "hash_key");
    expectInvalid(await patch(`/v1/upstreams/${withBackup.id}`, { servers: [] }), "servers");
    expectInvalid(
      await patch(`/v1/upstreams/${withBackup.id}`, { workspace_id: "x" }),
      "workspace_id",
    );
    expect(body(await get(`/v1/upstreams/${withBackup.id}`))).toEqual(withBackup);
  });
});

describe("virtual hosts", () => {
  async function fixtures() {
    const { org, workspace } = await newWorkspace();
    const upstream = await created(
      post(`/v1/workspaces/${workspace.id}/upstreams`, {
        name: "api-backend",
        servers: [server("10.0.1.20:8080")],
      }),
    );
    const cert = await created(
      post(`/v1/workspaces/${workspace.id}/certificates`, {
        domain: "api.example.com",
        provider: "letsencrypt",
      }),
    );
    return { org, workspace, upstream, cert, base: `/v1/workspaces/${workspace.id}/virtual-hosts` };
  }

  test("create, get, list with pages, patch, conflicts, delete", async () => {
    const { org, workspace, upstream, cert, base } = await fixtures();
    const payload = {
      name: "API Gateway",
      server_name: "api.example.com *.api.example.com",
      listen_port: 443,
      ssl_enabled: true,
      ssl_certificate_id: cert.id,
      http2_enabled: true,
      http3_enabled: true,
      locations: [
        {
          path: "/api/v1",
          upstream_id: upstream.id,
          custom_headers: [{ name: "X-Forwarded-Proto", value: "$scheme" }],
          rewrites: [{ pattern: "^/api/v1/(.*)$", replacement: "/$1", flag: "break" }],
        },
        { path: "/health", proxy_pass: "http://localhost:8080/health" },
      ],
      target_agents: { type: "selector", label_selector: "env=production" },
    };
    const gateway = await created(post(base, payload));
    expect(gateway).toEqual({
      id: expect.stringMatching(/^vh-[0-9a-f]{12}$/),
      workspace_id: workspace.id,
      ...payload,
      custom_directives: {},
      locations: [
        {
          ...payload.locations[0],
          custom_headers: [{ name: "X-Forwarded-Proto", value: "$scheme", always: true }],
          custom_directives: {},
        },
        { ...payload.locations[1], custom_headers: [], rewrites: [], custom_directives: {} },
      ],
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const plain = await created(
      post(base, { name: "Main Website", server_name: "example.com", listen_port: 80 }),
    );
    expect(plain).toMatchObject({
      ssl_enabled: false,
      ssl_certificate_id: null,
      http2_enabled: false,
      http3_enabled: false,
      locations: [],
      target_agents: { type: "all" },
    });
    await created(
      post(base, { name: "Third", server_name: "third.example.com", listen_port: 8080 }),
    );

    const first = await get(`${base}?page=1&per_page=2`);
    const second = await get(`${base}?page=2&per_page=2`);
    expect(body(first).meta).toEqual({ page: 1, per_page: 2, total: 3 });
    expect(data(second)).toHaveLength(1);
    expect([...data(first), ...data(second)].map((item) => item.name)).toEqual([
      "API Gateway",
      "Main Website",
      "Third",
    ]);
    expect(body(await get(`/v1/virtual-hosts/${gateway.id}`))).toEqual(gateway);

    expectError(
      await post(base, { name: "API Gateway", server_name: "x.com", listen_port: 80 }),
      409,
      "CONFLICT",
    );
    expectError(await patch(`/v1/virtual-hosts/${plain.id}`, { name: "Third" }), 409, "CONFLICT");

    // In use: the upstream and the certificate cannot go; the message names the virtual host.
    const upstreamInUse = expectError(await del(`/v1/upstreams/${upstream.id}`), 409, "CONFLICT");
    expect(upstreamInUse.message).toContain("API Gateway");
    expect(upstreamInUse.message).toContain(gateway.id as string);
    const certInUse = expectError(await del(`/v1/certificates/${cert.id}`), 409, "CONFLICT");
    expect(certInUse.message).toContain("API Gateway");

    const renamed = await patch(`/v1/virtual-hosts/${gateway.id}`, {
      name: "API Gateway v2",
      locations: [{ path: "/api/v2", proxy_pass: "https://backend.internal:8443/v2" }],
    });
    expect(renamed.status).toBe(200);
    expect(body(renamed)).toMatchObject({
      name: "API Gateway v2",
      server_name: payload.server_name,
      ssl_certificate_id: cert.id,
      locations: [
        { path: "/api/v2", proxy_pass: "https://backend.internal:8443/v2", custom_headers: [] },
      ],
      created_at: gateway.created_at,
    });
    // No location uses the upstream any more.
    expect((await del(`/v1/upstreams/${upstream.id}`)).status).toBe(204);
    expectInvalid(
      await patch(`/v1/virtual-hosts/${gateway.id}`, { ssl_certificate_id: null }),
      "ssl_certificate_id",
    );
    const insecure = await patch(`/v1/virtual-hosts/${gateway.id}`, {
      ssl_enabled: false,
      http3_enabled: false,
      ssl_certificate_id: null,
      target_agents: { type: "all" },
    });
    expect(body(insecure)).toMatchObject({
      ssl_enabled: false,
      ssl_certificate_id: null,
      target_agents: { type: "all" },
    });
    expect((await del(`/v1/certificates/${cert.id}`)).status).toBe(204);

    expect((await del(`/v1/virtual-hosts/${gateway.id}`)).status).toBe(204);
    expectError(await get(`/v1/virtual-hosts/${gateway.id}`), 404, "NOT_FOUND");
    const history = events.filter((event) => event.subjectId === gateway.id);
    expect(history.map((event) => event.type)).toEqual([
      "virtual_host.created",
      "virtual_host.updated",
      "virtual_host.updated",
      "virtual_host.deleted",
    ]);
    expect(history[0]?.data).toEqual({
      virtual_host_id: gateway.id,
      name: "API Gateway",
      workspace_id: workspace.id,
      organization_id: org.id,
    });
  });

  test("every rule answers 422 naming the field", async () => {
    const { upstream, cert, base } = await fixtures();
    const other = await fixtures();
    const valid = { name: "v", server_name: "example.com", listen_port: 80 };
    const at = (location: Json) => ({ ...valid, locations: [location] });
    const proxied = (extra: Json) => at({ path: "/", proxy_pass: "http://b.lan", ...extra });
    const cases: [Json, string, string?][] = [
      [{ ...valid, name: "" }, "name"],
      [{ ...valid, name: "x\u0000" }, "name"],
      [{ ...valid, server_name: "" }, "server_name"],
      [{ ...valid, server_name: "bad_name.com" }, "server_name"],
      [{ ...valid, server_name: "a.com  b.com" }, "server_name", "single spaces"],
      [{ ...valid, server_name: " a.com" }, "server_name"],
      [{ ...valid, server_name: "a.com\tb.com" }, "server_name"],
      [
        { ...valid, server_name: "~^www\\d+\\.example\\.com$" },
        "server_name",
        "regular expression",
      ],
      [{ ...valid, server_name: "a.com;" }, "server_name"],
      [{ ...valid, server_name: "*" }, "server_name"],
      [{ ...valid, server_name: "www.*.com" }, "server_name"],
      [{ ...valid, server_name: `${"a".repeat(64)}.com` }, "server_name"],
      [{ ...valid, server_name: "a.com A.com" }, "server_name", "second time"],
      [{ ...valid, listen_port: 0 }, "listen_port"],
      [{ ...valid, listen_port: 65536 }, "listen_port"],
      [{ ...valid, listen_port: "80" }, "listen_port"],
      [{ ...valid, ssl_enabled: true }, "ssl_certificate_id", "required"],
      [
        { ...valid, ssl_enabled: true, ssl_certificate_id: "cert-000000000000" },
        "ssl_certificate_id",
      ],
      [{ ...valid, ssl_enabled: true, ssl_certificate_id: other.cert.id }, "ssl_certificate_id"],
      [{ ...valid, http3_enabled: true }, "http3_enabled"],
      [{ ...valid, http2_enabled: "yes" }, "http2_enabled"],
      [at({ path: "api", proxy_pass: "http://b.lan" }), "locations.0.path"],
      [at({ path: "/a b", proxy_pass: "http://b.lan" }), "locations.0.path"],
      [at({ path: "/a;b", proxy_pass: "http://b.lan" }), "locations.0.path"],
      [at({ path: "/a{", proxy_pass: "http://b.lan" }), "locations.0.path"],
      [at({ path: "/a}", proxy_pass: "http://b.lan" }), "locations.0.path"],
      [at({ path: "/a\nb", proxy_pass: "http://b.lan" }), "locations.0.path"],
      [at({ path: "/" }), "locations.0", "exactly one"],
      [
        at({ path: "/", upstream_id: upstream.id, proxy_pass: "http://b.lan" }),
        "locations.0.proxy_pass",
      ],
      [at({ path: "/", upstream_id: "up-000000000000" }), "locations.0.upstream_id"],
      [at({ path: "/", upstream_id: other.upstream.id }), "locations.0.upstream_id"],
      [at({ path: "/", proxy_pass: "ftp://b.lan" }), "locations.0.proxy_pass"],
      [at({ path: "/", proxy_pass: "b.lan:80" }), "locations.0.proxy_pass"],
      [at({ path: "/", proxy_pass: "http://b.lan/ x" }), "locations.0.proxy_pass"],
      [at({ path: "/", proxy_pass: "http://b.lan/;" }), "locations.0.proxy_pass"],
      [
        proxied({ custom_headers: [{ name: "Bad Header", value: "x" }] }),
        "locations.0.custom_headers.0.name",
      ],
      [
        proxied({ custom_headers: [{ name: "", value: "x" }] }),
        "locations.0.custom_headers.0.name",
      ],
      [
        proxied({ custom_headers: [{ name: "X:Y", value: "x" }] }),
        "locations.0.custom_headers.0.name",
      ],
      [
        proxied({
          custom_headers: [
            { name: "X-A", value: "ok" },
            { name: "X-B", value: "a\nb" },
          ],
        }),
        "locations.0.custom_headers.1.value",
      ],
      [
        proxied({ custom_headers: [{ name: "X-A", value: "a;b" }] }),
        "locations.0.custom_headers.0.value",
      ],
      [
        proxied({ custom_headers: [{ name: "X-A", value: "{x}" }] }),
        "locations.0.custom_headers.0.value",
      ],
      [
        proxied({ custom_headers: [{ name: "X-A", value: "cost $" }] }),
        "locations.0.custom_headers.0.value",
      ],
      [
        proxied({ custom_headers: [{ name: "X-A", value: "$no_such_var" }] }),
        "locations.0.custom_headers.0.value",
        "not an nginx variable",
      ],
      [
        proxied({ custom_headers: [{ name: "X-$A", value: "x" }] }),
        "locations.0.custom_headers.0.name",
      ],
      [at({ path: "/a$b", proxy_pass: "http://b.lan" }), "locations.0.path"],
      [at({ path: "/", proxy_pass: "http://user@b.lan" }), "locations.0.proxy_pass"],
      [
        proxied({ rewrites: [{ pattern: "^/(?<n>a)$", replacement: "/b", flag: "last" }] }),
        "locations.0.rewrites.0.pattern",
        "not a supported regular expression",
      ],
      [
        proxied({ rewrites: [{ pattern: "^/(a)$", replacement: "/$2", flag: "last" }] }),
        "locations.0.rewrites.0.replacement",
        "capture",
      ],
      [
        proxied({ custom_headers: [{ name: "X-A", value: "é" }] }),
        "locations.0.custom_headers.0.value",
      ],
      [proxied({ custom_headers: [{ name: "X-A" }] }), "locations.0.custom_headers.0.value"],
      [
        proxied({ rewrites: [{ pattern: "^/a$", replacement: "/b", flag: "other" }] }),
        "locations.0.rewrites.0.flag",
      ],
      [
        proxied({ rewrites: [{ pattern: "", replacement: "/b", flag: "last" }] }),
        "locations.0.rewrites.0.pattern",
      ],
      [
        proxied({ rewrites: [{ pattern: "^/a b$", replacement: "/b", flag: "last" }] }),
        "locations.0.rewrites.0.pattern",
      ],
      [
        proxied({ rewrites: [{ pattern: "^/a$", replacement: "/b;", flag: "last" }] }),
        "locations.0.rewrites.0.replacement",
      ],
      [
        {
          ...valid,
          locations: [
            { path: "/x", proxy_pass: "http://b.lan" },
            { path: "/x", proxy_pass: "http://c.lan" },
          ],
        },
        "locations.1.path",
        "duplicates",
      ],
      [proxied({ extra: 1 }), "locations.0.extra"],
      [
        { ...valid, target_agents: { type: "selector", label_selector: "a=b=c" } },
        "target_agents.label_selector",
      ],
      [
        { ...valid, target_agents: { type: "selector", label_selector: " " } },
        "target_agents.label_selector",
      ],
      [{ ...valid, target_agents: { type: "selector" } }, "target_agents.label_selector"],
      [{ ...valid, target_agents: { type: "some" } }, "target_agents.type"],
      [
        { ...valid, target_agents: { type: "all", label_selector: "a=b" } },
        "target_agents.label_selector",
      ],
      [{ ...valid, extra: true }, "extra"],
    ];
    for (const [payload, field, says] of cases) {
      const message = expectInvalid(await post(base, payload), field);
      if (says) expect(message).toContain(says);
    }
    // Nothing was stored; what the rules allow is.
    expect(body(await get(base)).meta).toMatchObject({ total: 0 });
    await created(post(base, { ...valid, server_name: "*.example.com example.com 10.0.0.1" }));
    await created(
      post(base, {
        ...valid,
        name: "tls",
        ssl_enabled: true,
        ssl_certificate_id: cert.id,
        http3_enabled: true,
      }),
    );
  });

  test("random server names, paths and headers are stored unchanged or refused with 422", async () => {
    const { base } = await fixtures();
    const text = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.string({ unit: "binary", maxLength: 30 }),
      fc.string({ unit: "grapheme", maxLength: 10 }),
    );
    // Unicode, emoji and lone surrogate halves (not text: refused).
    const unicode = fc.string({
      unit: fc.oneof(
        fc.constantFrom("a", "/", "é", "😀", "%20", "$", "-"),
        fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
      ),
      maxLength: 8,
    });
    /** Mostly plausible values, so that each field is often the only random one. */
    const mostly = <T>(plausible: fc.Arbitrary<T>, random: fc.Arbitrary<T>) =>
      fc.oneof({ arbitrary: plausible, weight: 3 }, { arbitrary: random, weight: 2 });
    const serverName = mostly(
      fc.oneof(
        fc.domain(),
        fc.array(fc.domain(), { minLength: 1, maxLength: 3 }).map((names) => names.join(" ")),
        fc.domain().map((name) => `*.${name}`),
      ),
      fc.oneof(text, unicode),
    );
    const path = mostly(
      fc.webPath().map((p) => `/${p}`),
      fc.oneof(
        text,
        text.map((s) => `/${s}`),
        unicode.map((s) => `/${s}`),
      ),
    );
    const headerName = mostly(fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/), text);
    const headerValue = mostly(
      fc.oneof(
        fc.stringMatching(/^[ -~]{0,30}$/),
        fc.constantFrom("$scheme", "$host:$server_port", "", " spaced ", "$1"),
      ),
      fc.oneof(text, unicode),
    );
    let n = 0;
    const outcomes = { stored: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        serverName,
        path,
        headerName,
        headerValue,
        async (name, p, hName, hValue) => {
          const location = {
            path: p,
            proxy_pass: "http://backend.lan:8080",
            custom_headers: [{ name: hName, value: hValue }],
            rewrites: [],
          };
          const payload = {
            name: `random ${++n}`,
            server_name: name,
            listen_port: 80,
            locations: [location],
          };
          const result = await post(base, payload);
          if (result.status === 201) {
            outcomes.stored++;
            const stored = body(await get(`/v1/virtual-hosts/${body(result).id}`));
            for (const view of [body(result), stored]) {
              expect(view.server_name).toBe(name);
              expect(view.locations).toEqual([
                {
                  ...location,
                  custom_headers: [{ name: hName, value: hValue, always: true }],
                  custom_directives: {},
                },
              ]);
            }
            // What the API stores, the nginx compiler accepts.
            compileNginxConfig(
              {
                virtualHosts: [
                  {
                    id: "vh-1",
                    serverNames: name.split(" "),
                    listenPort: 80,
                    locations: [
                      {
                        path: p,
                        proxyPass: location.proxy_pass,
                        headers: [{ name: hName, value: hValue }],
                      },
                    ],
                  },
                ],
                upstreams: [],
              },
              { statusPort: 18081, resolvable: () => true, certificateAvailable: () => true },
            );
          } else {
            outcomes.refused++;
            expectError(result, 422, "VALIDATION_ERROR");
          }
        },
      ),
      { numRuns: 300 },
    );
    // Both branches ran, often.
    expect(outcomes.stored).toBeGreaterThan(20);
    expect(outcomes.refused).toBeGreaterThan(20);
  });
});

describe("authorization", () => {
  test("objects of another organization are 404; viewers read but get 403 on writes", async () => {
    const mine = await newWorkspace();
    const theirs = await newWorkspace();
    const make = async (workspace: Json) => {
      const ws = `/v1/workspaces/${workspace.id}`;
      const upstream = await created(
        post(`${ws}/upstreams`, { name: "up", servers: [server("a.lan:80")] }),
      );
      const cert = await created(post(`${ws}/certificates`, { domain: "a.com", provider: "acme" }));
      const vhost = await created(
        post(`${ws}/virtual-hosts`, {
          name: "vh",
          server_name: "a.com",
          listen_port: 80,
          locations: [{ path: "/", upstream_id: upstream.id }],
        }),
      );
      return { ws, upstream, cert, vhost };
    };
    const a = await make(mine.workspace);
    const b = await make(theirs.workspace);
    const viewer = await viewerOf(mine.org);

    // Reads in its own organization.
    expect((await get(`/v1/virtual-hosts/${a.vhost.id}`, viewer)).status).toBe(200);
    expect((await get(`/v1/upstreams/${a.upstream.id}`, viewer)).status).toBe(200);
    expect((await get(`/v1/certificates/${a.cert.id}`, viewer)).status).toBe(200);
    for (const list of ["virtual-hosts", "upstreams", "certificates", "access-logs"]) {
      expect((await get(`${a.ws}/${list}`, viewer)).status).toBe(200);
    }
    const window = "from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z";
    expect((await get(`${a.ws}/metrics?${window}`, viewer)).status).toBe(200);

    // Writes are 403 in its own organization.
    const writes: [string, string, unknown?][] = [
      ["POST", `${a.ws}/virtual-hosts`, { name: "x", server_name: "x.com", listen_port: 80 }],
      ["POST", `${a.ws}/upstreams`, { name: "x", servers: [server("a.lan:80")] }],
      ["POST", `${a.ws}/certificates`, { domain: "x.com", provider: "acme" }],
      ["PATCH", `/v1/virtual-hosts/${a.vhost.id}`, { name: "y" }],
      ["PATCH", `/v1/upstreams/${a.upstream.id}`, { name: "y" }],
      ["DELETE", `/v1/virtual-hosts/${a.vhost.id}`],
      ["DELETE", `/v1/upstreams/${a.upstream.id}`],
      ["DELETE", `/v1/certificates/${a.cert.id}`],
    ];
    for (const [method, path, payload] of writes) {
      expectError(await call(method, path, { token: viewer, body: payload }), 403, "FORBIDDEN");
    }

    // Nothing of the other organization exists for it, reads or writes.
    const hidden: [string, string, unknown?][] = [
      ["GET", `/v1/virtual-hosts/${b.vhost.id}`],
      ["GET", `/v1/upstreams/${b.upstream.id}`],
      ["GET", `/v1/certificates/${b.cert.id}`],
      ["GET", `${b.ws}/virtual-hosts`],
      ["GET", `${b.ws}/upstreams`],
      ["GET", `${b.ws}/certificates`],
      ["GET", `${b.ws}/access-logs`],
      ["GET", `${b.ws}/metrics?${window}`],
      ["POST", `${b.ws}/virtual-hosts`, { name: "x", server_name: "x.com", listen_port: 80 }],
      ["PATCH", `/v1/virtual-hosts/${b.vhost.id}`, { name: "y" }],
      ["PATCH", `/v1/upstreams/${b.upstream.id}`, { name: "y" }],
      ["DELETE", `/v1/virtual-hosts/${b.vhost.id}`],
      ["DELETE", `/v1/upstreams/${b.upstream.id}`],
      ["DELETE", `/v1/certificates/${b.cert.id}`],
    ];
    for (const [method, path, payload] of hidden) {
      expectError(await call(method, path, { token: viewer, body: payload }), 404, "NOT_FOUND");
    }
    const store = fleet.server.fleet.deps.store;
    const agentId = `ag-hidden-${unique}`;
    await store.agents.insert({ ...newAgent(agentId), workspaceId: theirs.workspace.id as string });
    expectError(await get(`/v1/agents/${agentId}/metrics?${window}`, viewer), 404, "NOT_FOUND");
    expect((await get(`/v1/agents/${agentId}/metrics?${window}`)).status).toBe(200);
    // Nor can its ids be used as references from its own workspace.
    expectInvalid(
      await post(`${a.ws}/virtual-hosts`, {
        name: "ref",
        server_name: "x.com",
        listen_port: 80,
        locations: [{ path: "/", upstream_id: b.upstream.id }],
      }),
      "locations.0.upstream_id",
    );
    expect(body(await get(`/v1/virtual-hosts/${b.vhost.id}`))).toEqual(b.vhost);
  });
});

describe("files", () => {
  const secretText = "tok-6f1c0b-very-secret";
  /** A template placeholder: `${body}`. */
  const ph = (body: string) => `\${${body}}`;
  const template = (name = "api-token") =>
    `NAME=${ph("agent.name")}\nTOKEN=${ph(`secret.${name}`)}\n`;

  test("create with defaults, list with pages, get, patch, delete; secrets never answered nor in events", async () => {
    const { org, workspace } = await newWorkspace();
    const base = `/v1/workspaces/${workspace.id}/files`;
    const before = events.length;
    const plain = await created(post(base, { name: "motd", path: "etc/motd", content: "hello\n" }));
    expect(plain).toEqual({
      id: expect.stringMatching(/^file-[0-9a-f]{12}$/),
      workspace_id: workspace.id,
      name: "motd",
      path: "etc/motd",
      mode: 0o644,
      kind: "file",
      content: "hello\n",
      content_redacted: false,
      target_agents: { type: "all" },
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const secret = await created(
      post(base, {
        name: "api-token",
        path: "secrets/api-token",
        kind: "secret",
        content: secretText,
      }),
    );
    expect(secret).toMatchObject({
      mode: 0o600,
      kind: "secret",
      content: null,
      content_redacted: true,
    });
    const env = await created(
      post(base, {
        name: "app-env",
        path: "app/app.env",
        mode: 0o640,
        kind: "env_template",
        content: template(),
        target_agents: { type: "selector", label_selector: "env=prod" },
      }),
    );
    // The template, not a rendering: the secret is not in it.
    expect(env).toMatchObject({ content: template(), content_redacted: false, mode: 0o640 });
    expect(env.target_agents).toEqual({ type: "selector", label_selector: "env=prod" });

    const first = await get(`${base}?page=1&per_page=2`);
    const second = await get(`${base}?page=2&per_page=2`);
    expect(body(first).meta).toEqual({ page: 1, per_page: 2, total: 3 });
    expect([...data(first), ...data(second)]).toEqual([plain, secret, env]);
    expect(body(await get(`/v1/files/${secret.id}`))).toEqual(secret);

    const changed = body(
      await patch(`/v1/files/${secret.id}`, { content: `${secretText}-2`, mode: 0o400 }),
    );
    expect(changed).toMatchObject({ mode: 0o400, content: null, content_redacted: true });
    const moved = body(
      await patch(`/v1/files/${plain.id}`, {
        path: "etc/issue",
        target_agents: { type: "selector", label_selector: "zone=eu,!canary" },
      }),
    );
    expect(moved).toMatchObject({ path: "etc/issue", content: "hello\n", mode: 0o644 });
    // Stored as given.
    const store = fleet.server.fleet.deps.store;
    expect((await store.agentFiles.get(secret.id as string))?.content).toBe(`${secretText}-2`);

    expect((await del(`/v1/files/${plain.id}`)).status).toBe(204);
    expectError(await get(`/v1/files/${plain.id}`), 404, "NOT_FOUND");
    expectError(await del(`/v1/files/${plain.id}`), 404, "NOT_FOUND");

    const ours = events.slice(before).filter((e) => e.type.startsWith("file."));
    const scope = { workspace_id: workspace.id, organization_id: org.id };
    const about = (f: Json, path = f.path) => ({
      file_id: f.id,
      name: f.name,
      path,
      kind: f.kind,
      ...scope,
    });
    expect(ours.map((e) => [e.type, e.subjectId, e.data])).toEqual([
      ["file.created", plain.id, about(plain)],
      ["file.created", secret.id, about(secret)],
      ["file.created", env.id, about(env)],
      ["file.updated", secret.id, about(secret)],
      ["file.updated", plain.id, about(plain, "etc/issue")],
      ["file.deleted", plain.id, about(plain, "etc/issue")],
    ]);
    // Nothing on the bus carries the secret, whatever the event.
    expect(JSON.stringify(events.map((e) => e.data))).not.toContain(secretText);
  });

  test("every rule answers 422 naming the field, 409 for a clash", async () => {
    const { workspace } = await newWorkspace();
    const base = `/v1/workspaces/${workspace.id}/files`;
    const ok = { name: "f", path: "f.txt", content: "x" };
    for (const path of [
      "../x",
      "/abs",
      "nginx/x",
      "nginx",
      "certs/a.pem",
      "keys/k.key",
      "a//b",
      "a/./b",
      ".drover-manifest.json",
      "",
    ]) {
      expectInvalid(await post(base, { ...ok, path }), "path");
    }
    for (const mode of [0o1777, 0o4755, 0o377, 0, -1, 6.5]) {
      expectInvalid(await post(base, { ...ok, mode }), "mode");
    }
    expect(
      expectInvalid(await post(base, { ...ok, content: "x".repeat(1024 * 1024 + 1) }), "content"),
    ).toContain("1 MiB");
    expectInvalid(await post(base, { ...ok, content: "a\u0000b" }), "content");
    for (const name of ["", "has space", "-x", "x".repeat(101), "a/b"]) {
      expectInvalid(await post(base, { ...ok, name }), "name");
    }
    expectInvalid(await post(base, { ...ok, kind: "binary" }), "kind");
    expectInvalid(
      await post(base, { ...ok, target_agents: { type: "selector", label_selector: "env=(" } }),
      "target_agents.label_selector",
    );
    const unknownPlaceholder = expectInvalid(
      await post(base, { ...ok, kind: "env_template", content: `A=${ph("agent.password")}` }),
      "content",
    );
    expect(unknownPlaceholder).toContain("unknown placeholder");
    expectInvalid(
      await post(base, { ...ok, kind: "env_template", content: "HOME=$HOME" }),
      "content",
    );
    const missing = expectInvalid(
      await post(base, { ...ok, kind: "env_template", content: template("nope") }),
      "content",
    );
    expect(missing).toContain('no secret named "nope"');
    expectInvalid(await post(base, { ...ok, owner: "me" }), "owner");
    expect((await get(base)).body).toMatchObject({ meta: { total: 0 } });

    const file = await created(post(base, ok));
    // A plain file is not a secret a template can name.
    expectInvalid(
      await post(base, { name: "e", path: "e.env", kind: "env_template", content: template("f") }),
      "content",
    );
    const duplicate = expectError(await post(base, { ...ok, name: "g" }), 409, "CONFLICT");
    expect(duplicate.message).toContain('path "f.txt"');
    expectError(await post(base, { ...ok, path: "g.txt" }), 409, "CONFLICT");
    const clash = expectError(
      await post(base, { name: "g", path: "f.txt/inner", content: "x" }),
      409,
      "CONFLICT",
    );
    expect(clash.message).toContain(file.id as string);
    await created(post(base, { name: "dir-file", path: "d/e", content: "x" }));
    expectError(await post(base, { name: "h", path: "d", content: "x" }), 409, "CONFLICT");

    expectInvalid(await patch(`/v1/files/${file.id}`, { kind: "secret" }), "kind");
    expectInvalid(await patch(`/v1/files/${file.id}`, { path: "keys/x" }), "path");
    expectInvalid(await patch(`/v1/files/${file.id}`, { mode: 0o1777 }), "mode");
    expectError(await patch(`/v1/files/${file.id}`, { path: "d/e" }), 409, "CONFLICT");
    expect(body(await get(`/v1/files/${file.id}`))).toEqual(file);

    // A secret an env template uses can be neither deleted nor renamed.
    const secret = await created(
      post(base, { name: "api-token", path: "t", kind: "secret", content: secretText }),
    );
    const env = await created(
      post(base, { name: "env", path: "app.env", kind: "env_template", content: template() }),
    );
    const used = expectError(await del(`/v1/files/${secret.id}`), 409, "CONFLICT");
    expect(used.message).toContain(env.id as string);
    expectError(await patch(`/v1/files/${secret.id}`, { name: "renamed" }), 409, "CONFLICT");
    expect(body(await patch(`/v1/files/${secret.id}`, { mode: 0o400 })).mode).toBe(0o400);
    expect((await del(`/v1/files/${env.id}`)).status).toBe(204);
    expect((await del(`/v1/files/${secret.id}`)).status).toBe(204);
  });

  test("viewers read but get 403 on writes; another organization's files are 404", async () => {
    const mine = await newWorkspace();
    const theirs = await newWorkspace();
    const ours = await created(
      post(`/v1/workspaces/${mine.workspace.id}/files`, { name: "f", path: "f", content: "x" }),
    );
    const other = await created(
      post(`/v1/workspaces/${theirs.workspace.id}/files`, { name: "f", path: "f", content: "x" }),
    );
    const viewer = await viewerOf(mine.org);
    expect((await get(`/v1/files/${ours.id}`, viewer)).status).toBe(200);
    expect((await get(`/v1/workspaces/${mine.workspace.id}/files`, viewer)).status).toBe(200);
    const writes: [string, string, unknown?][] = [
      ["POST", `/v1/workspaces/${mine.workspace.id}/files`, { name: "g", path: "g", content: "x" }],
      ["PATCH", `/v1/files/${ours.id}`, { content: "y" }],
      ["DELETE", `/v1/files/${ours.id}`],
    ];
    for (const [method, path, payload] of writes) {
      expectError(await call(method, path, { token: viewer, body: payload }), 403, "FORBIDDEN");
    }
    const hidden: [string, string, unknown?][] = [
      ["GET", `/v1/files/${other.id}`],
      ["GET", `/v1/workspaces/${theirs.workspace.id}/files`],
      [
        "POST",
        `/v1/workspaces/${theirs.workspace.id}/files`,
        { name: "g", path: "g", content: "x" },
      ],
      ["PATCH", `/v1/files/${other.id}`, { content: "y" }],
      ["DELETE", `/v1/files/${other.id}`],
    ];
    for (const [method, path, payload] of hidden) {
      expectError(await call(method, path, { token: viewer, body: payload }), 404, "NOT_FOUND");
    }
    expect(body(await get(`/v1/files/${ours.id}`))).toEqual(ours);
  });
});

describe("access logs and metrics", () => {
  const t = (minute: number, second = 0) => new Date(Date.UTC(2026, 2, 2, 10, minute, second));

  test("queries and metrics are computed from the stored logs, exactly", async () => {
    const { workspace } = await newWorkspace();
    const { workspace: elsewhere } = await newWorkspace();
    const store = fleet.server.fleet.deps.store;
    const agent1 = `ag-logs1-${unique}`;
    const agent2 = `ag-logs2-${unique}`;
    await store.agents.insert({ ...newAgent(agent1), workspaceId: workspace.id as string });
    await store.agents.insert({ ...newAgent(agent2), workspaceId: workspace.id as string });
    let id = 0;
    const log = (
      timestamp: Date,
      status: number,
      bytes: number,
      extra: Partial<NewAccessLog> = {},
    ) =>
      ({
        id: `log-${unique}-${++id}`,
        agentId: agent1,
        workspaceId: workspace.id as string,
        timestamp,
        remoteAddr: "192.168.1.100",
        method: "GET",
        uri: `/r/${id}`,
        protocol: "HTTP/1.1",
        host: "api.example.com",
        status,
        bodyBytesSent: bytes,
        responseTimeMs: 150.5,
        userAgent: "Mozilla/5.0",
        referer: "https://example.com/",
        requestId: `req-${id}`,
        ...extra,
      }) satisfies NewAccessLog;
    // The window is [10:00, 10:01): 60 seconds.
    const rows = [
      log(t(0, 0), 200, 1000),
      log(t(0, 10), 204, 0, { host: "www.example.com" }),
      log(t(0, 20), 301, 50, { agentId: agent2 }),
      log(t(0, 30), 404, 100),
      log(t(0, 40), 500, 123, { agentId: agent2 }),
      log(t(0, 59), 503, 7),
      log(t(1, 0), 500, 999_999), // at `to`: outside
      log(t(0, -1), 500, 999_999), // before `from`: outside
      log(t(0, 30), 500, 999_999, { workspaceId: elsewhere.id as string }),
    ];
    expect(await store.accessLogs.insertMany(rows)).toBe(rows.length);
    const ws = `/v1/workspaces/${workspace.id}`;
    const window = `from=${t(0).toISOString()}&to=${t(1).toISOString()}`;

    const metrics = await get(`${ws}/metrics?${window}`);
    expect(metrics.status).toBe(200);
    expect(body(metrics)).toEqual({
      requests_total: 6,
      requests_per_second: 0.1,
      error_rate: 2 / 6,
      active_connections: 0,
      bandwidth: { in_bytes: 0, out_bytes: 1280 },
      status_codes: { "2xx": 2, "3xx": 1, "4xx": 1, "5xx": 2 },
    });
    // The same window in another offset is the same window.
    const shifted = `from=2026-03-02T12:00:00%2B02:00&to=2026-03-02T12:01:00%2B02:00`;
    expect(body(await get(`${ws}/metrics?${shifted}`))).toEqual(body(metrics));
    const agentMetrics = await get(`/v1/agents/${agent2}/metrics?${window}`);
    expect(body(agentMetrics)).toEqual({
      requests_total: 2,
      requests_per_second: 2 / 60,
      error_rate: 0.5,
      active_connections: 0,
      bandwidth: { in_bytes: 0, out_bytes: 173 },
      status_codes: { "2xx": 0, "3xx": 1, "4xx": 0, "5xx": 1 },
    });
    const empty = `from=2020-01-01T00:00:00Z&to=2020-01-01T01:00:00Z`;
    expect(body(await get(`${ws}/metrics?${empty}`))).toEqual({
      requests_total: 0,
      requests_per_second: 0,
      error_rate: 0,
      active_connections: 0,
      bandwidth: { in_bytes: 0, out_bytes: 0 },
      status_codes: { "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0 },
    });

    const errors = await get(`${ws}/access-logs?${window}&status_code=500&limit=100`);
    expect(errors.status).toBe(200);
    expect(body(errors)).toEqual({
      data: [
        {
          id: rows[4]?.id,
          agent_id: agent2,
          timestamp: "2026-03-02T10:00:40.000Z",
          remote_addr: "192.168.1.100",
          method: "GET",
          uri: rows[4]?.uri,
          protocol: "HTTP/1.1",
          host: "api.example.com",
          status: 500,
          body_bytes_sent: 123,
          response_time_ms: 150.5,
          user_agent: "Mozilla/5.0",
          referer: "https://example.com/",
          request_id: rows[4]?.requestId,
        },
      ],
      meta: { total: 1, limit: 100 },
    });
    // Issue 11, access logs by host: nginx's $host, compared in lowercase.
    const byHost = body(await get(`${ws}/access-logs?${window}&host=WWW.example.com`));
    expect((byHost.data as Json[]).map((row) => row.id)).toEqual([rows[1]?.id]);
    expect(byHost.meta).toEqual({ total: 1, limit: 100 });
    expect(body(await get(`${ws}/access-logs?${window}&host=api.example.com`)).meta).toEqual({
      total: 5,
      limit: 100,
    });
    const byAgent = body(await get(`${ws}/access-logs?${window}&agent_id=${agent2}`));
    expect((byAgent.data as Json[]).map((row) => row.id)).toEqual([rows[4]?.id, rows[2]?.id]);
    const latest = await get(`${ws}/access-logs?${window}&limit=2`);
    expect(data(latest).map((row) => row.timestamp)).toEqual([
      "2026-03-02T10:00:59.000Z",
      "2026-03-02T10:00:40.000Z",
    ]);
    expect(body(latest).meta).toEqual({ total: 6, limit: 2 });
    const all = await get(`${ws}/access-logs`);
    expect(body(all).meta).toEqual({ total: 8, limit: 100 });
    expect(data(all)[0]?.timestamp).toBe("2026-03-02T10:01:00.000Z");
    expect(body(await get(`${ws}/access-logs?from=${t(1).toISOString()}`)).meta).toMatchObject({
      total: 1,
    });

    const bad: [string, string][] = [
      [`${ws}/access-logs?from=yesterday`, "from"],
      [`${ws}/access-logs?to=2026-03-02T10:00:00`, "to"],
      [`${ws}/access-logs?from=${t(1).toISOString()}&to=${t(0).toISOString()}`, "to"],
      [`${ws}/access-logs?from=${t(1).toISOString()}&to=${t(1).toISOString()}`, "to"],
      [`${ws}/access-logs?limit=0`, "limit"],
      [`${ws}/access-logs?limit=1001`, "limit"],
      [`${ws}/access-logs?limit=ten`, "limit"],
      [`${ws}/access-logs?status_code=99`, "status_code"],
      [`${ws}/access-logs?status_code=5xx`, "status_code"],
      [`${ws}/access-logs?host=a%20b`, "host"],
      [`${ws}/access-logs?page=2`, "page"],
      [`${ws}/metrics?from=yesterday`, "from"],
      [`${ws}/metrics?from=${t(1).toISOString()}&to=${t(0).toISOString()}`, "to"],
      // Without `to` the window ends now: a `from` after now leaves it empty.
      [`/v1/agents/${agent1}/metrics?from=2999-01-01T00:00:00Z`, "to"],
    ];
    for (const [path, field] of bad) expectInvalid(await get(path), field);
    expectError(await get(`/v1/agents/ag-nope/metrics?${window}`), 404, "NOT_FOUND");
    expectError(await get(`/v1/workspaces/ws-nope/access-logs`), 404, "NOT_FOUND");
  });
});

test("the OpenAPI document lists the new routes", async () => {
  const paths = Object.keys((body(await call("GET", "/v1/openapi.json")).paths ?? {}) as Json);
  for (const path of [
    "/workspaces/{workspace_id}/virtual-hosts",
    "/virtual-hosts/{virtual_host_id}",
    "/workspaces/{workspace_id}/upstreams",
    "/upstreams/{upstream_id}",
    "/workspaces/{workspace_id}/certificates",
    "/certificates/{certificate_id}",
    "/workspaces/{workspace_id}/access-logs",
    "/workspaces/{workspace_id}/metrics",
    "/agents/{agent_id}/metrics",
    "/workspaces/{workspace_id}/files",
    "/files/{file_id}",
  ]) {
    expect(paths).toContain(path);
  }
});

// issue 10, NxMesh fidelity: the seed's Location, Header, RewriteRule, Upstream,
// UpstreamServer and HealthCheckConfig fields accepted over REST and compiled (Location
// root/index, served only from an agent's static roots: test/integration/static-roots.test.ts).
describe("the seed's virtual host and upstream fields", () => {
  test("accepted as written, stored, and compiled into a config nginx -t accepts", async () => {
    const { workspace } = await newWorkspace();
    const ws = `/v1/workspaces/${workspace.id}`;
    const upstream = await created(
      post(`${ws}/upstreams`, {
        name: "web-backend",
        algorithm: "weighted_round_robin",
        servers: [
          { address: "10.0.1.30:8080", weight: 2, backup: false, max_fails: 3, fail_timeout: 30 },
          { address: "10.0.1.31:8080", weight: 1, backup: false, down: true },
          { address: "10.0.1.32:8080", weight: 1, backup: true },
        ],
        keepalive_connections: 16,
        health_check: {
          enabled: true,
          path: "/health",
          interval: 10,
          timeout: 5,
          healthy_threshold: 4,
          unhealthy_threshold: 6,
        },
      }),
    );
    expect(upstream).toMatchObject({
      algorithm: "round_robin",
      keepalive: 16,
      health_check: { healthy_threshold: 4, unhealthy_threshold: 6 },
    });
    const host = await created(
      post(`${ws}/virtual-hosts`, {
        name: "Site",
        server_name: "site.example.com",
        listen_port: 80,
        locations: [
          {
            path: "/",
            proxy_pass: "http://127.0.0.1:8080",
            custom_headers: [{ name: "X-Frame-Options", value: "DENY", always: false }],
            rewrite_rules: [{ pattern: "^/old/(.*)$", replacement: "/new/$1", flag: "permanent" }],
            custom_directives: { client_max_body_size: "10m", gzip: "on" },
          },
          { path: "/api/", upstream_id: upstream.id },
        ],
      }),
    );
    expect((host.locations as Json[])[0]).toEqual({
      path: "/",
      proxy_pass: "http://127.0.0.1:8080",
      custom_headers: [{ name: "X-Frame-Options", value: "DENY", always: false }],
      rewrites: [{ pattern: "^/old/(.*)$", replacement: "/new/$1", flag: "permanent" }],
      custom_directives: { client_max_body_size: "10m", gzip: "on" },
    });

    const store = fleet.server.fleet.deps.store;
    const model = nginxModelFromRows({
      virtualHosts: [(await store.virtualHosts.get(host.id as string)) as VirtualHostRow],
      upstreams: [(await store.upstreams.get(upstream.id as string)) as UpstreamRow],
      certificateFiles: () => ({ certificatePath: "/x", keyPath: "/y" }),
    });
    const prefix = await makePrefix();
    try {
      const { files } = compileNginxConfig(model, {
        statusPort: 18081,
        resolvable: () => true,
        certificateAvailable: () => true,
        runtime: { pidPath: `${prefix.dir}/logs/nginx.pid`, tempDir: `${prefix.dir}/tmp` },
      });
      const conf = files[0]?.content ?? "";
      for (const line of [
        "proxy_pass http://127.0.0.1:8080;",
        'add_header X-Frame-Options "DENY";',
        'rewrite "^/old/(.*)$" "/new/$1" permanent;',
        "client_max_body_size 10m;",
        "gzip on;",
        "server 10.0.1.30:8080 weight=2 max_fails=3 fail_timeout=30s;",
        "server 10.0.1.31:8080 down;",
        "server 10.0.1.32:8080 backup;",
        "keepalive 16;",
      ]) {
        expect(conf).toContain(line);
      }
      expect(await nginxTest(prefix.dir, files)).toMatchObject({ ok: true });
    } finally {
      await prefix.remove();
    }
  });

  test("bad values are refused with 422 naming the field; unknown fields still refused", async () => {
    const { workspace } = await newWorkspace();
    const base = `/v1/workspaces/${workspace.id}/virtual-hosts`;
    const host = (location: Json) => ({
      name: "h",
      server_name: "h.example.com",
      listen_port: 80,
      locations: [{ path: "/", ...location }],
    });
    const rules = [{ pattern: "^/a$", replacement: "/b", flag: "last" }];
    for (const [location, field] of [
      [
        { proxy_pass: "http://a.example", custom_directives: { include: "/etc/passwd" } },
        "locations.0.custom_directives.include",
      ],
      [
        { proxy_pass: "http://a.example", custom_directives: { gzip: "on; include x" } },
        "locations.0.custom_directives.gzip",
      ],
      // A root is a normalized absolute path (test/integration/static-roots.test.ts has the rest).
      [{ root: "/srv/../var/lib/drover-agent" }, "locations.0.root"],
      [{ proxy_pass: "http://a.example", index: "i.html" }, "locations.0.index"],
      [
        { proxy_pass: "http://a.example", rewrites: rules, rewrite_rules: rules },
        "locations.0.rewrite_rules",
      ],
      [
        {
          proxy_pass: "http://a.example",
          custom_headers: [{ name: "X", value: "v", always: "yes" }],
        },
        "locations.0.custom_headers.0.always",
      ],
      [{ proxy_pass: "http://a.example", nginx: "x" }, "locations.0.nginx"],
    ] as const) {
      expectInvalid(await post(base, host(location)), field);
    }
    const upstreams = `/v1/workspaces/${workspace.id}/upstreams`;
    const servers = [server("10.0.1.20:8080")];
    for (const [payload, field] of [
      [{ name: "u", servers, keepalive: 1, keepalive_connections: 1 }, "keepalive_connections"],
      [{ name: "u", servers, keepalive_connections: 5000 }, "keepalive_connections"],
      [{ name: "u", servers, algorithm: "weighted" }, "algorithm"],
      [
        { name: "u", servers, health_check: { path: "/h", healthy_threshold: 0 } },
        "health_check.healthy_threshold",
      ],
    ] as const) {
      expectInvalid(await post(upstreams, payload), field);
    }
  });
});
