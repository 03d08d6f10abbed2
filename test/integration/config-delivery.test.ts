import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { DroverAgent } from "../../lib/agent/index.ts";
import type { FleetEvent } from "../../lib/events/index.ts";
import {
  type DeliveryFixture,
  type Json,
  startDeliveryFixture,
} from "../support/delivery-fixture.ts";
import { backend, closeAll, curl, freePort, listen, portOf, waitFor } from "../support/loopback.ts";

// Server + agent in this process, a real nginx master run by the agent, two
// real upstream HTTP servers, and curl as the independent client.
setDefaultTimeout(90_000);

let fixture: DeliveryFixture;
let rest: DeliveryFixture["rest"];
let ok: DeliveryFixture["ok"];
let agent: DroverAgent;
let agentId: string;
let workspaceId: string;
let events: FleetEvent[];

/** Upstreams whose /healthz answers 500. */
const sick = new Set<string>();

/** An upstream that answers every request with its own name. */
async function upstream(name: string): Promise<number> {
  const status = (req: { url?: string }) => (req.url === "/healthz" && sick.has(name) ? 500 : 200);
  return (await backend(name, { status })).port;
}

/**
 * Waits until the agent has reported a final state on the version the server
 * now wants, and returns that state with the config event about it.
 */
async function settled(): Promise<{ status: Json; event: FleetEvent }> {
  let event: FleetEvent | undefined;
  const status = await fixture.settled((current) => {
    event = events.findLast(
      (e) =>
        e.subjectId === agentId &&
        e.type.startsWith("config.") &&
        (e.data as Json).version === current.version,
    );
    return event !== undefined;
  });
  return { status, event: event as FleetEvent };
}

/** `count` answers through nginx, tallied by upstream name. */
async function tally(count: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < count; i += 1) {
    const answer = await curl(appPort, "app.test");
    seen[answer] = (seen[answer] ?? 0) + 1;
  }
  return seen;
}

let appPort: number;
let upstreamId: string;
let portA: number;
let portB: number;

beforeAll(async () => {
  fixture = await startDeliveryFixture({ name: "edge" });
  ({ rest, ok, agent, agentId, workspaceId, events } = fixture);
  [portA, portB, appPort] = await Promise.all([upstream("A"), upstream("B"), freePort()]);
});

afterAll(async () => {
  await fixture?.stop();
  await closeAll();
});

describe("configuration delivery with real nginx", () => {
  test("an upstream and a virtual host created over REST reach nginx; curl reaches both upstreams in turn", async () => {
    const created = await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/upstreams`, {
        name: "app",
        algorithm: "round_robin",
        servers: [{ address: `127.0.0.1:${portA}` }, { address: `127.0.0.1:${portB}` }],
      }),
      201,
    );
    upstreamId = created.id as string;
    await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
        name: "app",
        server_name: "app.test",
        listen_port: appPort,
        locations: [{ path: "/", upstream_id: upstreamId }],
      }),
      201,
    );
    const { status, event } = await settled();
    expect(event.type).toBe("config.applied");
    expect(status).toMatchObject({ state: "success", applied_version: status.desired_version });
    expect(status.virtual_hosts).toEqual([{ id: expect.any(String), status: "applied" }]);
    // Each nginx worker runs its own round robin: over 20 requests both answer about half.
    const seen = await tally(20);
    expect(Object.keys(seen).sort()).toEqual(["A", "B"]);
    expect(seen.A).toBeGreaterThanOrEqual(8);
    expect(seen.B).toBeGreaterThanOrEqual(8);
  });

  test("changing weights changes where traffic goes", async () => {
    await ok(
      rest("PATCH", `/v1/upstreams/${upstreamId}`, {
        servers: [
          { address: `127.0.0.1:${portA}`, weight: 3 },
          { address: `127.0.0.1:${portB}`, weight: 1 },
        ],
      }),
    );
    expect((await settled()).status.state).toBe("success");
    // Smooth weighted round robin gives 3 of every 4 per worker: 30 ± 2 of 40.
    const seen = await tally(40);
    expect(seen.A).toBeGreaterThanOrEqual(28);
    expect(seen.A).toBeLessThanOrEqual(32);
  });

  test("a configuration nginx cannot load is rolled back with nginx's error, and the old one keeps serving", async () => {
    // Another process holds the port: `nginx -t` passes, the reload cannot bind.
    const taken = await listen();
    const takenPort = portOf(taken);
    try {
      const bad = await ok(
        rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
          name: "clash",
          server_name: "clash.test",
          listen_port: takenPort,
          locations: [{ path: "/", upstream_id: upstreamId }],
        }),
        201,
      );
      const { status, event } = await settled();
      expect(event.type).toBe("config.failed");
      expect(event.data).toMatchObject({ state: "rolled_back" });
      expect(((event.data as Json).errors as string[]).join("\n")).toContain(
        "Address already in use",
      );
      expect(status.state).toBe("rolled_back");
      expect(status.applied_version).not.toBe(status.desired_version);
      expect(await curl(appPort, "app.test")).toMatch(/^[AB]$/);

      await ok(rest("DELETE", `/v1/virtual-hosts/${bad.id}`), 204);
      expect((await settled()).status.state).toBe("success");
    } finally {
      taken.close();
    }
  });

  test("a host whose upstream does not resolve on the agent is set aside with why; the others stay served", async () => {
    const broken = await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/upstreams`, {
        name: "nowhere",
        algorithm: "round_robin",
        servers: [{ address: "nowhere.invalid:80" }],
      }),
      201,
    );
    const host = await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
        name: "broken",
        server_name: "broken.test",
        listen_port: appPort,
        locations: [{ path: "/", upstream_id: broken.id }],
      }),
      201,
    );
    const status = await waitFor("the host set aside", async () => {
      const { status: current } = await settled();
      const hosts = current.virtual_hosts as Json[];
      return current.state === "success" &&
        hosts.some((h) => h.id === host.id && h.status === "set_aside")
        ? current
        : undefined;
    });
    expect(status.applied_version).toBe(status.desired_version);
    const perAgent = await ok(rest("GET", `/v1/virtual-hosts/${host.id}/status`));
    expect(perAgent.agents).toEqual([
      expect.objectContaining({ agent_id: agentId, status: "set_aside", config_state: "success" }),
    ]);
    expect(((perAgent.agents as Json[])[0]?.reason as string) ?? "").toContain("nowhere.invalid");
    const served = await ok(
      rest(
        "GET",
        `/v1/virtual-hosts/${(status.virtual_hosts as Json[]).find((h) => h.id !== host.id)?.id}/status`,
      ),
    );
    expect((served.agents as Json[])[0]).toMatchObject({ status: "applied" });
    expect(await curl(appPort, "app.test")).toMatch(/^[AB]$/);
    await ok(rest("DELETE", `/v1/virtual-hosts/${host.id}`), 204);
    await ok(rest("DELETE", `/v1/upstreams/${broken.id}`), 204);
    expect((await settled()).status.state).toBe("success");
  });

  test("a hand edit of the live nginx.conf is found as drift and repaired", async () => {
    const live = agent.nginx?.paths.config as string;
    const good = readFileSync(live, "utf8");
    // A delivery still settling from the previous test may overwrite the edit
    // before the agent looks; then the edit is made again (at most 3 times).
    let drifted: FleetEvent | undefined;
    for (let attempt = 0; attempt < 3 && !drifted; attempt += 1) {
      const before = events.length;
      writeFileSync(live, `${good}\n# edited by hand\n`);
      await waitFor("the repair", () => (readFileSync(live, "utf8") === good ? true : undefined));
      drifted = events.slice(before).find((e) => e.type === "config.drifted");
      if (drifted) {
        // Repaired by the delivery the drift report asked for.
        await waitFor("the repair's config.applied", () =>
          events
            .slice(before)
            .find((e) => e.type === "config.applied" && e.seq > (drifted as FleetEvent).seq),
        );
      }
    }
    expect(drifted?.data).toMatchObject({ agent_id: agentId, paths: ["nginx/nginx.conf"] });
    expect(await curl(appPort, "app.test")).toMatch(/^[AB]$/);
  });

  test("reload and status commands reach the agent's nginx", async () => {
    const reloaded = await ok(rest("POST", `/v1/agents/${agentId}/reload`));
    // Issue 10: the seed's answer, with Drover's fields beside it.
    expect(reloaded).toMatchObject({
      success: true,
      message: "Nginx reloaded successfully",
      ok: true,
      nginx: { running: true },
    });
    expect(Date.now() - Date.parse(reloaded.timestamp as string)).toBeLessThan(60_000);
    const status = await ok(rest("POST", `/v1/agents/${agentId}/status`));
    const config = await ok(rest("GET", `/v1/agents/${agentId}/config`));
    expect(status.nginx).toMatchObject({
      running: true,
      config_version: config.applied_config_hash,
    });
  });

  test("stop takes nginx down gracefully; restart brings it back with the same configuration", async () => {
    const stopped = await ok(rest("POST", `/v1/agents/${agentId}/stop`, { timeout_seconds: 5 }));
    expect(stopped).toMatchObject({ ok: true, nginx: { running: false } });
    await expect(curl(appPort, "app.test")).rejects.toThrow();
    const restarted = await ok(rest("POST", `/v1/agents/${agentId}/restart`));
    expect(restarted).toMatchObject({ ok: true, nginx: { running: true } });
    expect(await curl(appPort, "app.test")).toMatch(/^[AB]$/);
    const refused = await rest("POST", `/v1/agents/${agentId}/stop`, { timeout_seconds: 0 });
    expect(refused.status).toBe(422);
    const unknown = await rest("POST", "/v1/agents/ag-000000000000/reload");
    expect(unknown.status).toBe(404);
  });

  test("health reports carry nginx's status and the applied hash; access logs reach the server", async () => {
    await tally(3);
    const config = await ok(rest("GET", `/v1/agents/${agentId}/config`));
    const withNginx = await waitFor("a health report with nginx status", async () => {
      const got = await ok(rest("GET", `/v1/agents/${agentId}`));
      const health = got.health as Json | null;
      // A report from after the restart above: nginx running and serving.
      const nginx = health?.nginx as Json | null | undefined;
      return health && health.config_hash === config.applied_config_hash && nginx?.running === true
        ? health
        : undefined;
    });
    expect(withNginx.nginx).toMatchObject({
      running: true,
      config_version: config.applied_config_hash,
    });
    expect((withNginx.nginx as Json).requests_total).toBeGreaterThan(0);
    const logs = await waitFor("access logs", async () => {
      const page = await ok(rest("GET", `/v1/workspaces/${workspaceId}/access-logs?limit=100`));
      const rows = (page.data as Json[]).filter((row) => row.host === "app.test");
      return rows.length >= 3 ? rows : undefined;
    });
    expect(logs[0]).toMatchObject({ agent_id: agentId, method: "GET", uri: "/", status: 200 });
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const metrics = await ok(
      rest("GET", `/v1/workspaces/${workspaceId}/metrics?from=${from}&to=${to}`),
    );
    expect(metrics.requests_total).toBeGreaterThanOrEqual(3);
    expect((metrics.status_codes as Json)["2xx"]).toBeGreaterThanOrEqual(3);
  });

  test("open connections to nginx show in the agent's health and the workspace's metrics", async () => {
    // Two idle keep-alive connections held open while the agent reports.
    const held = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<Socket>((resolve) => {
            const socket = connect(appPort, "127.0.0.1", () => resolve(socket));
          }),
      ),
    );
    try {
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const metrics = await waitFor("connections counted", async () => {
        const to = new Date(Date.now() + 60_000).toISOString();
        const current = await ok(
          rest("GET", `/v1/workspaces/${workspaceId}/metrics?from=${from}&to=${to}`),
        );
        return (current.active_connections as number) >= 2 ? current : undefined;
      });
      expect(metrics.active_connections).toBeGreaterThanOrEqual(2);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });

  test("the agent's active health check takes a failing server out of the next config and back", async () => {
    await ok(
      rest("PATCH", `/v1/upstreams/${upstreamId}`, {
        servers: [{ address: `127.0.0.1:${portA}` }, { address: `127.0.0.1:${portB}` }],
        health_check: { enabled: true, path: "/healthz", interval: 2, timeout: 1 },
      }),
    );
    expect((await settled()).status.state).toBe("success");
    sick.add("B");
    await waitFor("B marked down", () =>
      readFileSync(agent.nginx?.paths.config as string, "utf8").includes(`127.0.0.1:${portB} down`)
        ? true
        : undefined,
    );
    expect((await settled()).status.state).toBe("success");
    expect(await tally(10)).toEqual({ A: 10 });
    sick.delete("B");
    await waitFor("B back up", () =>
      readFileSync(agent.nginx?.paths.config as string, "utf8").includes(`127.0.0.1:${portB} down`)
        ? undefined
        : true,
    );
    expect((await settled()).status.state).toBe("success");
    expect(Object.keys(await tally(10)).sort()).toEqual(["A", "B"]);
  });
});
