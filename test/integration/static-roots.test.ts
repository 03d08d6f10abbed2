// issue 10, NxMesh fidelity: Location root/index, served only from an agent's declared static roots; deployment_mode in the session hello.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type DeliveryFixture,
  type Json,
  startDeliveryFixture,
} from "../support/delivery-fixture.ts";
import type { HttpResult } from "../support/https-client.ts";
import { type InProcessAgent, startInProcessAgent } from "../support/in-process.ts";
import { closeAll, curl, freePort, waitFor } from "../support/loopback.ts";

setDefaultTimeout(90_000);

let fixture: DeliveryFixture;
let site: string;
let page: string;
let appPort: number;
let second: InProcessAgent | undefined;

beforeAll(async () => {
  // nginx's workers run as nobody under a root master: the site must be world-readable.
  site = realpathSync(mkdtempSync(join(tmpdir(), "drover-static-site-")));
  chmodSync(site, 0o755);
  page = `static page ${Math.random()}\n`;
  writeFileSync(join(site, "index.html"), page, { mode: 0o644 });
  appPort = await freePort();
  fixture = await startDeliveryFixture({ name: "static", agent: { staticRoots: [site] } });
});

afterAll(async () => {
  await second?.stop();
  await fixture?.stop();
  rmSync(site, { recursive: true, force: true });
  await closeAll();
});

function details(result: HttpResult): string[] {
  expect(result.status).toBe(422);
  const error = (result.body as Json).error as Json;
  return (error.details as { field: string }[]).map((detail) => detail.field);
}

const staticHost = (name: string, root: string) => ({
  name,
  server_name: `${name}.test`,
  listen_port: appPort,
  locations: [{ path: "/", root, index: "index.html" }],
});

describe("location root and index over REST and gRPC", () => {
  let ws: string;
  beforeAll(async () => {
    const made = await fixture.ok(
      fixture.rest("POST", `/v1/organizations/${fixture.organizationId}/workspaces`, {
        name: "api",
        slug: "api",
      }),
      201,
    );
    ws = made.id as string;
  });

  test("accepted and read back alike on both sides", async () => {
    const { rest, ok } = fixture;
    const made = await ok(
      rest("POST", `/v1/workspaces/${ws}/virtual-hosts`, {
        ...staticHost("docs", "/srv/www/docs"),
        locations: [{ path: "/", root: "/srv/www/docs", index: "index.html index.htm" }],
      }),
      201,
    );
    expect((made.locations as Json[])[0]).toMatchObject({
      path: "/",
      root: "/srv/www/docs",
      index: "index.html index.htm",
    });
    const operator = fixture.fleet.operator;
    const viaGrpc = await operator.getVirtualHost({ id: made.id as string });
    expect(viaGrpc.virtualHost?.locations[0]).toMatchObject({
      root: "/srv/www/docs",
      index: "index.html index.htm",
    });
    const grpcMade = await operator.createVirtualHost({
      workspaceId: ws,
      name: "pages",
      serverName: "pages.test",
      listenPort: 8080,
      locations: [{ path: "/pages", root: "/srv/pages", index: "home.html" }],
    });
    const viaRest = await ok(rest("GET", `/v1/virtual-hosts/${grpcMade.virtualHost?.id}`));
    expect((viaRest.locations as Json[])[0]).toMatchObject({
      path: "/pages",
      root: "/srv/pages",
      index: "home.html",
    });
  });

  test("bad roots and indexes are refused with 422 naming the field, and gRPC says the same", async () => {
    const base = `/v1/workspaces/${ws}/virtual-hosts`;
    const host = (location: Json) => ({
      name: "bad",
      server_name: "bad.test",
      listen_port: 8081,
      locations: [{ path: "/", ...location }],
    });
    for (const [location, field] of [
      [{ root: "srv/www" }, "locations.0.root"],
      [{ root: "/srv/../etc" }, "locations.0.root"],
      [{ root: "/srv/./www" }, "locations.0.root"],
      [{ root: "/srv//www" }, "locations.0.root"],
      [{ root: "/srv/www/" }, "locations.0.root"],
      [{ root: "/srv/$host" }, "locations.0.root"],
      [{ root: '/srv/"www' }, "locations.0.root"],
      [{ root: "/srv/w\nww" }, "locations.0.root"],
      [{ root: `/${"a".repeat(512)}` }, "locations.0.root"],
      [{ root: "/srv/www", proxy_pass: "http://a.example" }, "locations.0.root"],
      [{ root: "/srv/www", upstream_id: "u-1" }, "locations.0.root"],
      [{ proxy_pass: "http://a.example", index: "index.html" }, "locations.0.index"],
      [{ root: "/srv/www", index: "a/index.html" }, "locations.0.index"],
      [{ root: "/srv/www", index: "$uri" }, "locations.0.index"],
      [{ root: "/srv/www", index: "a  b" }, "locations.0.index"],
      [{ root: "/srv/www", index: "1 2 3 4 5 6 7 8 9" }, "locations.0.index"],
    ] as const) {
      expect({
        location,
        fields: details(await fixture.rest("POST", base, host(location))),
      }).toEqual({ location, fields: [field] });
    }
    const viaRest = ((await fixture.rest("POST", base, host({ root: "/srv/../etc" }))).body as Json)
      .error as Json;
    const viaGrpc = await fixture.fleet.operator
      .createVirtualHost({
        workspaceId: ws,
        name: "bad",
        serverName: "bad.test",
        listenPort: 8081,
        locations: [{ path: "/", root: "/srv/../etc" }],
      })
      .then(
        () => undefined,
        (error: unknown) => ConnectError.from(error),
      );
    expect(viaGrpc?.code).toBe(Code.InvalidArgument);
    expect(viaGrpc?.rawMessage).toBe(viaRest.message as string);
    const listed = await fixture.ok(fixture.rest("GET", `${base}?per_page=100`));
    expect((listed.data as Json[]).map((row) => row.name)).not.toContain("bad");
  });
});

describe("static files through the agent's own nginx", () => {
  let served: string;
  let outside: string;

  test("a root inside the agent's --static-root is served: curl gets the file", async () => {
    const { rest, ok, workspaceId } = fixture;
    served = (
      await ok(
        rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, staticHost("site", site)),
        201,
      )
    ).id as string;
    // A host whose root the agent never declared: set aside for it, the other still served.
    outside = (
      await ok(
        rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, staticHost("keys", "/etc")),
        201,
      )
    ).id as string;
    const status = await fixture.settled((current) =>
      (current.virtual_hosts as Json[]).some(
        (host) => host.id === served && host.status === "applied",
      ),
    );
    expect(status.state).toBe("success");
    expect(await curl(appPort, "site.test", "/")).toBe(page);
    expect(await curl(appPort, "site.test", "/index.html")).toBe(page);
    expect((status.virtual_hosts as Json[]).find((host) => host.id === outside)).toMatchObject({
      status: "set_aside",
      field: "locations.0.root",
      reason: `locations.0.root /etc is outside this agent's static roots (${site})`,
    });
    // nginx never saw it: the keys host's name falls to the default server, which closes.
    await expect(curl(appPort, "keys.test", "/passwd")).rejects.toThrow(/curl/);
  });

  test("an agent without static roots sets the host aside, its reason in GET /v1/agents/{id}/config; a restart in another mode updates the record", async () => {
    const { rest, ok, workspaceId, dir } = fixture;
    const token = await ok(rest("POST", `/v1/workspaces/${workspaceId}/agents/tokens`, {}), 201);
    const agentOptions = {
      dataDir: join(dir, "second"),
      hostname: "static-2",
      nginx: { mode: "managed" as const, statusPort: await freePort(), listenAddress: "127.0.0.1" },
      driftIntervalMs: 200,
    };
    second = await startInProcessAgent(fixture.fleet, {
      ...agentOptions,
      token: token.token as string,
    });
    const id = second.id;
    const config = await waitFor("the second agent's configuration", async () => {
      const current = await ok(rest("GET", `/v1/agents/${id}/config`));
      return current.state === "success" && (current.virtual_hosts as Json[]).length === 2
        ? current
        : undefined;
    });
    expect((config.virtual_hosts as Json[]).find((host) => host.id === served)).toMatchObject({
      status: "set_aside",
      field: "locations.0.root",
      reason: `locations.0.root ${site}: this agent declares no static root (drover agent --static-root DIR)`,
    });
    expect((await ok(rest("GET", `/v1/agents/${id}`))).deployment_mode).toBe("standalone");

    await second.stop();
    second = await startInProcessAgent(fixture.fleet, {
      ...agentOptions,
      deploymentMode: "kubernetes_sidecar",
    });
    const agent = await ok(rest("GET", `/v1/agents/${id}`));
    expect(agent.deployment_mode).toBe("kubernetes_sidecar");
    expect(
      fixture.events.filter((event) => event.type === "agent.updated" && event.subjectId === id),
    ).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({
          deployment_mode: "kubernetes_sidecar",
          previous_deployment_mode: "standalone",
        }),
      }),
    ]);
  });
});
