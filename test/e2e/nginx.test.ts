import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { freePort, listen, portOf } from "../support/loopback.ts";
import { Harness, type RunningProcess, type ServerProcess, waitFor } from "./harness.ts";

// The compiled binary as server and agent (--nginx-mode managed), a real
// nginx master run by the agent, two upstream HTTP servers on loopback, and
// curl for every request: REST with the admin's client certificate, and
// traffic through nginx.
setDefaultTimeout(120_000);

type Json = Record<string, unknown>;

let h: Harness;
let server: ServerProcess;
let agent: RunningProcess;
let workspaceId: string;
let agentId: string;
let upstreamId: string;
let appPort: number;
let statusPort: number;
const upstreams: Server[] = [];

/** REST through curl as the server's admin; fails unless it answers `status`. */
async function ok(method: string, path: string, body?: unknown, status = 200): Promise<Json> {
  const result = await h.adminCurl(method, path, body);
  if (result.status !== status)
    throw new Error(`${method} ${path}: ${result.status} ${JSON.stringify(result.body)}`);
  return result.body;
}

async function through(host: string): Promise<string> {
  const result = await h.exec("curl", [
    "-s",
    "--max-time",
    "5",
    "-H",
    `Host: ${host}`,
    `http://127.0.0.1:${appPort}/`,
  ]);
  return result.stdout;
}

/** The agent's config status once it reports a final state on the desired version. */
function settled(deadlineMs = 30_000): Promise<Json> {
  return waitFor(
    "the agent to settle on the desired version",
    async () => {
      const status = await ok("GET", `/agents/${agentId}/config`);
      const final = ["success", "failed", "rolled_back"].includes(status.state as string);
      return final && status.version === status.desired_version ? status : undefined;
    },
    deadlineMs,
  );
}

function startAgent(token?: string): RunningProcess {
  return h.startAgent({
    dataDir: "agent",
    server: server.endpoints.registration,
    ...(token === undefined ? {} : { token }),
    extraArgs: [
      "--nginx-mode",
      "managed",
      "--nginx-status-port",
      String(statusPort),
      "--nginx-listen-address",
      "127.0.0.1",
    ],
  });
}

const nginxPid = () => Number(readFileSync(h.path("agent/nginx/logs/nginx.pid"), "utf8").trim());

beforeAll(async () => {
  h = await Harness.create("nginx");
  server = await h.startServer();
  const [a, b] = await Promise.all([
    listen((_, res) => res.end("A")),
    listen((_, res) => res.end("B")),
  ]);
  upstreams.push(a, b);
  [appPort, statusPort] = [await freePort(), await freePort()];
  const org = await ok("POST", "/organizations", { name: "Lab", slug: "lab" }, 201);
  const workspace = await ok(
    "POST",
    `/organizations/${org.id}/workspaces`,
    { name: "Edge", slug: "edge" },
    201,
  );
  workspaceId = workspace.id as string;
  const token = await ok(
    "POST",
    `/workspaces/${workspaceId}/agents/tokens`,
    { name: "edge-1" },
    201,
  );
  agent = startAgent(token.token as string);
  agentId = await waitFor("the agent to join", async () => {
    const page = await ok("GET", `/workspaces/${workspaceId}/agents`);
    const first = (page.data as Json[])[0];
    return first?.state === "online" ? (first.id as string) : undefined;
  });
});

afterAll(async () => {
  // nginx outlives the agent by design: stop it here.
  try {
    process.kill(nginxPid(), "SIGTERM");
  } catch {}
  for (const s of upstreams) s.close();
  await h?.cleanup();
});

describe("drover agent --nginx-mode managed, end to end", () => {
  test("a virtual host created over REST is served by the agent's nginx, to both upstreams", async () => {
    const upstream = await ok(
      "POST",
      `/workspaces/${workspaceId}/upstreams`,
      {
        name: "app",
        algorithm: "round_robin",
        servers: upstreams.map((s) => ({ address: `127.0.0.1:${portOf(s)}` })),
      },
      201,
    );
    upstreamId = upstream.id as string;
    await ok(
      "POST",
      `/workspaces/${workspaceId}/virtual-hosts`,
      {
        name: "app",
        server_name: "app.test",
        listen_port: appPort,
        locations: [{ path: "/", upstream_id: upstreamId }],
      },
      201,
    );
    expect(await settled()).toMatchObject({ state: "success" });
    const seen = new Set<string>();
    for (let i = 0; i < 12; i += 1) seen.add(await through("app.test"));
    expect([...seen].sort()).toEqual(["A", "B"]);
  });

  test("new weights steer the traffic", async () => {
    const [a, b] = upstreams.map((s) => `127.0.0.1:${portOf(s)}`);
    await ok("PATCH", `/upstreams/${upstreamId}`, {
      servers: [
        { address: a, weight: 1 },
        { address: b, weight: 3 },
      ],
    });
    expect(await settled()).toMatchObject({ state: "success" });
    const seen: Record<string, number> = {};
    for (let i = 0; i < 40; i += 1) {
      const answer = await through("app.test");
      seen[answer] = (seen[answer] ?? 0) + 1;
    }
    // Smooth weighted round robin per worker: 3 of every 4 to B, 30 ± 2 of 40.
    expect(seen.B).toBeGreaterThanOrEqual(28);
    expect(seen.B).toBeLessThanOrEqual(32);
  });

  test("nginx keeps serving while the agent is down, and a restarted agent adopts it", async () => {
    const pid = nginxPid();
    agent.child.kill("SIGKILL");
    await agent.exited;
    expect(await through("app.test")).toMatch(/^[AB]$/);
    agent = startAgent();
    await waitFor("the restarted agent's session", async () => {
      const status = await ok("POST", `/agents/${agentId}/status`).catch(() => undefined);
      return status?.ok === true ? status : undefined;
    });
    expect(nginxPid()).toBe(pid);
    const status = await ok("POST", `/agents/${agentId}/status`);
    expect(status.nginx).toMatchObject({ running: true, pid });
    expect(agent.stderr()).toContain("adopted the running nginx");
  });

  test("a hand edit of nginx.conf on the machine is repaired", async () => {
    const live = h.path("agent/nginx/conf/nginx.conf");
    const good = readFileSync(live, "utf8");
    writeFileSync(live, good.replace("server_tokens off;", "server_tokens on;"));
    await waitFor("the repair", () => (readFileSync(live, "utf8") === good ? true : undefined));
    expect(await through("app.test")).toMatch(/^[AB]$/);
  });

  test("a configuration nginx cannot load is rolled back and the old one keeps serving", async () => {
    const taken = await listen();
    try {
      const bad = await ok(
        "POST",
        `/workspaces/${workspaceId}/virtual-hosts`,
        {
          name: "clash",
          server_name: "clash.test",
          listen_port: portOf(taken),
          locations: [{ path: "/", upstream_id: upstreamId }],
        },
        201,
      );
      const status = await settled();
      expect(status.state).toBe("rolled_back");
      expect((status.errors as string[]).join("\n")).toContain("Address already in use");
      expect(await through("app.test")).toMatch(/^[AB]$/);
      await ok("DELETE", `/virtual-hosts/${bad.id}`, undefined, 204);
      expect(await settled()).toMatchObject({ state: "success" });
    } finally {
      taken.close();
    }
  });
});
