// Issue 10, NxMesh fidelity: a workspace's global_settings and alert_thresholds and a host's custom_directives over REST and gRPC, compiled, delivered and used.

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { CommittedEvent } from "../../lib/events/index.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { NullableGlobalSettingsSchema } from "../../lib/gen/drover/v1/operator_pb.ts";
import { createCertificateRequest, generateKeyPair } from "../../lib/pki/index.ts";
import {
  type DeliveryFixture,
  type Json,
  startDeliveryFixture,
} from "../support/delivery-fixture.ts";
import { healthReport } from "../support/health-report.ts";
import type { HttpResult } from "../support/https-client.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(60_000);

let f: DeliveryFixture;
beforeAll(async () => {
  f = await startDeliveryFixture({ name: "settings" });
});
afterAll(() => f.stop());

const settings = {
  global_settings: {
    nginx_directives: { gzip: "on", client_max_body_size: "20m" },
    env_vars: { TZ: "Europe/Paris" },
  },
  alert_thresholds: { cpu_percent: { warning: 50, critical: 90, clear: 40 } },
};

/** A 422 whose details name this field first; the request changed nothing. */
async function expectInvalid(result: Promise<HttpResult>, field: string): Promise<void> {
  const done = await result;
  expect(done.status).toBe(422);
  const error = (done.body as { error: { code: string; details: Array<{ field: string }> } }).error;
  expect(error.code).toBe("VALIDATION_ERROR");
  expect(error.details.map((detail) => detail.field)).toContain(field);
}

let unique = 0;
const newWorkspace = (extra: Json = {}) => {
  const slug = `ws-${++unique}`;
  return f.ok(
    f.rest("POST", `/v1/organizations/${f.organizationId}/workspaces`, {
      name: slug,
      slug,
      ...extra,
    }),
    201,
  );
};

async function grpcError(pending: Promise<unknown>): Promise<ConnectError> {
  const error = await pending.then(
    () => undefined,
    (reason: unknown) => ConnectError.from(reason),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}

describe("workspace settings over REST", () => {
  test("create, get and patch global_settings and alert_thresholds; null clears; unset reads null", async () => {
    const plain = await newWorkspace();
    expect(plain).toMatchObject({ global_settings: null, alert_thresholds: null });
    const ws = await newWorkspace(settings);
    expect(ws).toMatchObject(settings);
    expect(await f.ok(f.rest("GET", `/v1/workspaces/${ws.id}`))).toMatchObject(settings);
    // Absent fields stay; null clears one.
    const renamed = await f.ok(f.rest("PATCH", `/v1/workspaces/${ws.id}`, { name: "Renamed" }));
    expect(renamed).toMatchObject({ name: "Renamed", ...settings });
    const cleared = await f.ok(
      f.rest("PATCH", `/v1/workspaces/${ws.id}`, { global_settings: null }),
    );
    expect(cleared).toMatchObject({
      global_settings: null,
      alert_thresholds: settings.alert_thresholds,
    });
    // Omitted maps default to empty.
    const onlyEnv = await f.ok(
      f.rest("PATCH", `/v1/workspaces/${ws.id}`, { global_settings: { env_vars: { A: "1" } } }),
    );
    expect(onlyEnv.global_settings).toEqual({ nginx_directives: {}, env_vars: { A: "1" } });
  });

  test("refuses what nginx or the thresholds' order would not take, naming the field, and changes nothing", async () => {
    const ws = await newWorkspace(settings);
    const path = `/v1/workspaces/${ws.id}`;
    const withSettings = (global_settings: Json) => f.rest("PATCH", path, { global_settings });
    await expectInvalid(
      withSettings({ nginx_directives: { include: "/etc/passwd" } }),
      "global_settings.nginx_directives.include",
    );
    await expectInvalid(
      withSettings({ nginx_directives: { gzip: "on; user root" } }),
      "global_settings.nginx_directives.gzip",
    );
    await expectInvalid(
      withSettings({ env_vars: { "1BAD": "x" } }),
      "global_settings.env_vars.1BAD",
    );
    await expectInvalid(
      withSettings({ env_vars: { NGINX: "3" } }),
      "global_settings.env_vars.NGINX",
    );
    await expectInvalid(
      withSettings({ worker_processes: "4" }),
      "global_settings.worker_processes",
    );
    await expectInvalid(
      f.rest("PATCH", path, { alert_thresholds: { cpu_percent: { warning: 50, clear: 60 } } }),
      "alert_thresholds.cpu_percent.clear",
    );
    await expectInvalid(
      f.rest("PATCH", path, {
        alert_thresholds: { disk_percent: { warning: 80, critical: 70, clear: 60 } },
      }),
      "alert_thresholds.disk_percent.critical",
    );
    await expectInvalid(
      f.rest("PATCH", path, { alert_thresholds: { cpu_percent: { warning: 150, clear: 60 } } }),
      "alert_thresholds.cpu_percent.warning",
    );
    await expectInvalid(
      f.rest("PATCH", path, { alert_thresholds: { load_average: { warning: 5, clear: 1 } } }),
      "alert_thresholds.load_average",
    );
    expect(await f.ok(f.rest("GET", path))).toMatchObject(settings);
  });

  test("a virtual host's custom_directives: created, patched, cleared, refused by name", async () => {
    const base = `/v1/workspaces/${f.workspaceId}/virtual-hosts`;
    const host = await f.ok(
      f.rest("POST", base, {
        name: "directives",
        server_name: "directives.test",
        listen_port: 18_480,
        custom_directives: { client_max_body_size: "50m" },
      }),
      201,
    );
    expect(host.custom_directives).toEqual({ client_max_body_size: "50m" });
    const path = `/v1/virtual-hosts/${host.id}`;
    await expectInvalid(
      f.rest("PATCH", path, { custom_directives: { add_header: "X-A b" } }),
      "custom_directives.add_header",
    );
    await expectInvalid(
      f.rest("PATCH", path, { custom_directives: { proxy_read_timeout: "forever" } }),
      "custom_directives.proxy_read_timeout",
    );
    const patched = await f.ok(
      f.rest("PATCH", path, { custom_directives: { proxy_read_timeout: "90s" } }),
    );
    expect(patched.custom_directives).toEqual({ proxy_read_timeout: "90s" });
    const cleared = await f.ok(f.rest("PATCH", path, { custom_directives: null }));
    expect(cleared.custom_directives).toEqual({});
    await f.ok(f.rest("DELETE", path), 204);
  });
});

describe("workspace settings over gRPC", () => {
  test("the same settings as REST, read back either way; an unset wrapper leaves alone, an empty one clears; refusals name the field", async () => {
    const { workspace } = await f.fleet.operator.createWorkspace({
      organizationId: f.organizationId,
      name: "grpc",
      slug: "grpc",
      globalSettings: { nginxDirectives: { gzip: "on" }, envVars: { TZ: "UTC" } },
      alertThresholds: { memoryPercent: { warning: 70, clear: 60 } },
    });
    const id = workspace?.id as string;
    expect(await f.ok(f.rest("GET", `/v1/workspaces/${id}`))).toMatchObject({
      global_settings: { nginx_directives: { gzip: "on" }, env_vars: { TZ: "UTC" } },
      alert_thresholds: { memory_percent: { warning: 70, clear: 60 } },
    });
    await f.ok(f.rest("PATCH", `/v1/workspaces/${id}`, settings));
    const read = (await f.fleet.operator.getWorkspace({ id })).workspace;
    expect(read?.globalSettings?.nginxDirectives).toEqual(
      settings.global_settings.nginx_directives,
    );
    expect(read?.alertThresholds?.cpuPercent).toMatchObject({
      warning: 50,
      critical: 90,
      clear: 40,
    });
    expect(read?.alertThresholds?.diskPercent).toBeUndefined();

    const renamed = (await f.fleet.operator.updateWorkspace({ id, name: "gRPC" })).workspace;
    expect(renamed?.globalSettings?.envVars).toEqual({ TZ: "Europe/Paris" });
    const cleared = (
      await f.fleet.operator.updateWorkspace({
        id,
        globalSettings: create(NullableGlobalSettingsSchema, {}),
      })
    ).workspace;
    expect(cleared?.globalSettings).toBeUndefined();
    expect(cleared?.alertThresholds?.cpuPercent?.warning).toBe(50);

    const refused = await grpcError(
      f.fleet.operator.updateWorkspace({
        id,
        globalSettings: { value: { envVars: { "A-B": "x" } } },
      }),
    );
    expect(refused.code).toBe(Code.InvalidArgument);
    expect(refused.rawMessage).toContain("global_settings.env_vars.A-B");

    const { virtualHost } = await f.fleet.operator.createVirtualHost({
      workspaceId: id,
      name: "grpc-host",
      serverName: "grpc.test",
      listenPort: 18_481,
      customDirectives: { gzip: "off" },
    });
    const rest = await f.ok(f.rest("GET", `/v1/virtual-hosts/${virtualHost?.id}`));
    expect(rest.custom_directives).toEqual({ gzip: "off" });
    const updated = await f.fleet.operator.updateVirtualHost({
      id: virtualHost?.id as string,
      customDirectives: { values: { send_timeout: "30s" } },
    });
    expect(updated.virtualHost?.customDirectives).toEqual({ send_timeout: "30s" });
    const badHost = await grpcError(
      f.fleet.operator.updateVirtualHost({
        id: virtualHost?.id as string,
        customDirectives: { values: { include: "/etc/passwd" } },
      }),
    );
    expect(badHost.code).toBe(Code.InvalidArgument);
    expect(badHost.rawMessage).toContain("custom_directives.include");
  });
});

describe("delivery", () => {
  test("changing the workspace's global_settings reaches its agent's nginx.conf, next to a host's own directives", async () => {
    const host = await f.ok(
      f.rest("POST", `/v1/workspaces/${f.workspaceId}/virtual-hosts`, {
        name: "delivered",
        server_name: "delivered.test",
        listen_port: 18_482,
        custom_directives: { client_max_body_size: "50m" },
        locations: [{ path: "/", proxy_pass: "http://127.0.0.1:18483" }],
      }),
      201,
    );
    await f.settled();
    await f.ok(f.rest("PATCH", `/v1/workspaces/${f.workspaceId}`, settings));
    const config = f.agent.nginx?.paths.config as string;
    const applied = await f.settled(() =>
      readFileSync(config, "utf8").includes('env "TZ=Europe/Paris";'),
    );
    expect(applied.state).toBe("success");
    const text = readFileSync(config, "utf8");
    expect(text).toContain("\n    gzip on;\n");
    expect(text).toContain("\n    client_max_body_size 20m;\n");
    expect(text).toContain("\n        client_max_body_size 50m;\n");
    // Thresholds alone move no configuration.
    const heard: CommittedEvent[] = [];
    const unsubscribe = f.fleet.server.fleet.deps.events.subscribe((event) => heard.push(event));
    await f.ok(
      f.rest("PATCH", `/v1/workspaces/${f.workspaceId}`, {
        alert_thresholds: { cpu_percent: { warning: 60, clear: 50 } },
      }),
    );
    unsubscribe();
    expect(heard.map((event) => [event.type, event.changes])).toEqual([["workspace.updated", {}]]);
    await f.ok(f.rest("DELETE", `/v1/virtual-hosts/${host.id}`), 204);
  });
});

describe("alert thresholds per workspace", () => {
  const report = (cpuPercent: number) => healthReport(new Date(), cpuPercent);

  async function agentIn(workspaceId: string, hostname: string): Promise<string> {
    const path = `/v1/workspaces/${workspaceId}/agents/tokens`;
    const token = (await f.ok(f.rest("POST", path, {}), 201)).token as string;
    const registered = await f.fleet.registration.register({
      token,
      role: Role.AGENT,
      csr: await createCertificateRequest(await generateKeyPair()),
      hostname,
    });
    return registered.id;
  }

  const alertsOf = (agentId: string) =>
    f.events
      .filter((event) => event.type === "health.alert")
      .map((event) => event.data as Json)
      .filter((data) => data.agent_id === agentId)
      .map((data) => [data.metric, data.severity, data.value]);

  test("cpu warning at 50 fires at 60 in that workspace only, and a changed threshold applies from the next report", async () => {
    const strict = await newWorkspace({
      alert_thresholds: { cpu_percent: { warning: 50, clear: 40 } },
    });
    const relaxed = await newWorkspace();
    const hot = await agentIn(strict.id as string, "hot-strict");
    const calm = await agentIn(relaxed.id as string, "hot-relaxed");
    for (const id of [hot, calm]) {
      const stream = await f.fleet.server.fleet.openHealthStream(id);
      await stream.record(report(60));
      await stream.close();
    }
    await waitFor("the alert", () => (alertsOf(hot).length > 0 ? true : undefined));
    expect(alertsOf(hot)).toEqual([["cpu_percent", "warning", 60]]);
    expect(alertsOf(calm)).toEqual([]);

    // The health streams read the new thresholds once the workspace changes.
    await f.ok(
      f.rest("PATCH", `/v1/workspaces/${relaxed.id}`, {
        alert_thresholds: { cpu_percent: { warning: 55, clear: 45 } },
      }),
    );
    const stream = await f.fleet.server.fleet.openHealthStream(calm);
    await stream.record(report(60));
    await stream.close();
    expect(alertsOf(calm)).toEqual([["cpu_percent", "warning", 60]]);
  });
});
