import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent, type DroverAgent } from "../../lib/agent/index.ts";
import { type HttpResult, httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";
import { curl, freePort, listen, portOf, waitFor } from "../support/loopback.ts";

// --nginx-mode system: a "system nginx" started here from its own main
// configuration (a site of its own, `include confDir/*.conf`), the agent
// writing only confDir/drover.conf and reloading that nginx.
setDefaultTimeout(90_000);

type Json = Record<string, unknown>;

let dir: string;
let fleet: InProcessFleet;
let call: ReturnType<typeof httpsClient>;
let token: string;
let agent: DroverAgent;
let agentId: string;
let workspaceId: string;
let upstreamServer: Server;
let systemPort: number;
let appPort: number;
let confDir: string;
let pidFile: string;
const stopAgent = new AbortController();
let agentRun: Promise<void>;

const rest = (method: string, path: string, body?: unknown): Promise<HttpResult> =>
  call(method, path, { token, ...(body === undefined ? {} : { body }) });
async function ok(result: Promise<HttpResult>, status = 200): Promise<Json> {
  const done = await result;
  expect({ status: done.status, body: done.body }).toMatchObject({ status });
  return done.body as Json;
}

async function settled(): Promise<Json> {
  await fleet.server.delivery.settled();
  return waitFor("the agent to settle", async () => {
    const status = await ok(rest("GET", `/v1/agents/${agentId}/config`));
    const final = ["success", "failed", "rolled_back"].includes(status.state as string);
    return final && status.version === status.desired_version ? status : undefined;
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "drover-system-"));
  const etc = join(dir, "etc");
  confDir = join(etc, "conf.d");
  pidFile = join(dir, "nginx.pid");
  for (const sub of ["conf.d", "../logs", "../tmp"]) mkdirSync(join(etc, sub), { recursive: true });
  [systemPort, appPort] = [await freePort(), await freePort()];
  const mainConfig = join(etc, "nginx.conf");
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((kind) => `    ${kind}_temp_path ${dir}/tmp/${kind};`)
    .join("\n");
  writeFileSync(
    mainConfig,
    `worker_processes 1;
pid ${pidFile};
error_log ${dir}/logs/error.log;
events { worker_connections 64; }
http {
${temp}
    access_log off;
    ssl_protocols TLSv1.2 TLSv1.3;
    gzip on;
    server {
        listen 127.0.0.1:${systemPort} default_server;
        return 200 "system site\\n";
    }
    include ${confDir}/*.conf;
}
`,
  );
  const started = spawn("nginx", ["-c", mainConfig], { stdio: "ignore" });
  expect(await new Promise((resolve) => started.once("exit", resolve))).toBe(0);
  upstreamServer = await listen((_, res) => res.end("app"));

  fleet = await startInProcessFleet({ rateLimitPerMinute: 1_000_000, heartbeatIntervalMs: 500 });
  call = httpsClient(`https://${fleet.server.endpoints.http}`, {
    caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
  });
  const first = fleet.server.firstAdmin;
  if (!first) throw new Error("a fresh server must create its first admin");
  token = (
    await ok(
      call("POST", "/v1/auth/login", { body: { email: first.email, password: first.password } }),
    )
  ).access_token as string;
  const org = await ok(rest("POST", "/v1/organizations", { name: "Lab", slug: "lab" }), 201);
  const workspace = await ok(
    rest("POST", `/v1/organizations/${org.id}/workspaces`, { name: "Sys", slug: "sys" }),
    201,
  );
  workspaceId = workspace.id as string;
  const joinToken = await ok(rest("POST", `/v1/workspaces/${workspaceId}/agents/tokens`, {}), 201);
  agent = createAgent({
    dataDir: join(dir, "agent"),
    server: fleet.server.endpoints.registration,
    token: joinToken.token as string,
    hostname: "sys-1",
    nginx: {
      mode: "system",
      confDir,
      mainConfig,
      statusPort: await freePort(),
      listenAddress: "127.0.0.1",
    },
    driftIntervalMs: 200,
  });
  agentRun = agent.run(stopAgent.signal);
  agentId = await waitFor("the agent's session", async () => {
    const id = agent.identity()?.id;
    return id !== undefined && fleet.server.delivery.connected(id) ? id : undefined;
  });
});

afterAll(async () => {
  stopAgent.abort();
  await agentRun?.catch(() => {});
  try {
    process.kill(Number(readFileSync(pidFile, "utf8")), "SIGTERM");
  } catch {}
  upstreamServer?.close();
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("configuration delivery into a system nginx", () => {
  test("drover.conf lands in the included directory; the system's own site and ours both serve", async () => {
    const upstream = await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/upstreams`, {
        name: "app",
        algorithm: "round_robin",
        servers: [{ address: `127.0.0.1:${portOf(upstreamServer)}` }],
      }),
      201,
    );
    await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
        name: "app",
        server_name: "app.test",
        listen_port: appPort,
        locations: [{ path: "/", upstream_id: upstream.id }],
      }),
      201,
    );
    expect(await settled()).toMatchObject({ state: "success" });
    const fragment = readFileSync(join(confDir, "drover.conf"), "utf8");
    expect(fragment).toContain(`listen 127.0.0.1:${appPort};`);
    expect(fragment).not.toMatch(/^\s*(pid|events|http)\b/m);
    expect(await curl(appPort, "app.test")).toBe("app");
    expect(await curl(systemPort, "anything")).toBe("system site\n");
  });

  test("a hand edit of drover.conf is repaired; the system's other files are never touched", async () => {
    const live = join(confDir, "drover.conf");
    const good = readFileSync(live, "utf8");
    writeFileSync(join(confDir, "local.conf"), "# the administrator's own file\n");
    writeFileSync(live, `${good}# edited\n`);
    await waitFor("the repair", async () =>
      readFileSync(live, "utf8") === good ? true : undefined,
    );
    expect(readFileSync(join(confDir, "local.conf"), "utf8")).toBe(
      "# the administrator's own file\n",
    );
    expect(await curl(appPort, "app.test")).toBe("app");
  });
});
