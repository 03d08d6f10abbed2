import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { type DeliveryFixture, startDeliveryFixture } from "../support/delivery-fixture.ts";
import { curl, freePort, listen, portOf, waitFor } from "../support/loopback.ts";

// --nginx-mode system: a "system nginx" started here from its own main
// configuration (a site of its own, `include confDir/*.conf`), the agent
// writing only confDir/drover.conf and reloading that nginx.
setDefaultTimeout(90_000);

let fixture: DeliveryFixture;
let rest: DeliveryFixture["rest"];
let ok: DeliveryFixture["ok"];
let settled: DeliveryFixture["settled"];
let workspaceId: string;
let upstreamServer: Server;
let systemPort: number;
let appPort: number;
let confDir: string;
let pidFile: string;

/** Lays out and starts the system nginx in `dir`; the agent's options for it. */
async function systemNginx(dir: string) {
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
  return {
    mode: "system" as const,
    confDir,
    mainConfig,
    statusPort: await freePort(),
    listenAddress: "127.0.0.1",
  };
}

beforeAll(async () => {
  fixture = await startDeliveryFixture({ name: "sys", nginx: systemNginx });
  ({ rest, ok, settled, workspaceId } = fixture);
});

afterAll(async () => {
  // Read before the fixture removes its directory (stopping the agent stops this nginx as a rule).
  const pid =
    pidFile !== undefined && existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : 0;
  await fixture?.stop();
  try {
    if (pid > 0) process.kill(pid, "SIGTERM");
  } catch {}
  upstreamServer?.close();
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
