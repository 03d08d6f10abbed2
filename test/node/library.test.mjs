// The built library (dist/lib) under Node's own test runner: what a Node 20
// program sees when it does `import … from "drover"`.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);

test("importing the library starts nothing", async () => {
  const before = process.getActiveResourcesInfo().length;
  const drover = await import("drover");
  assert.equal(typeof drover.startDroverServer, "function");
  assert.equal(process.getActiveResourcesInfo().length, before);
});

test("PKI: a CA issues a client certificate openssl verifies", async () => {
  const { createFleetCA, generateKeyPair, issueClientCertificate, identityFromCertificate } =
    await import("drover");
  const ca = await createFleetCA();
  const keys = await generateKeyPair();
  const identity = { fleetId: ca.fleetId, role: "agent", id: "ag-node" };
  const issued = await issueClientCertificate(ca, { identity, publicKey: keys.publicKey });
  assert.deepEqual(identityFromCertificate(issued.certificatePem), identity);
  const dir = mkdtempSync(join(tmpdir(), "drover-node-"));
  try {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(dir, "ca.pem"), ca.certificatePem);
    writeFileSync(join(dir, "client.pem"), issued.certificatePem);
    const { stdout } = await run("openssl", [
      "verify",
      "-CAfile",
      join(dir, "ca.pem"),
      join(dir, "client.pem"),
    ]);
    assert.match(stdout, /client\.pem: OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the store runs on @libsql/client under Node", async () => {
  const { openStore } = await import("drover");
  const dir = mkdtempSync(join(tmpdir(), "drover-node-"));
  try {
    const store = await openStore({ path: join(dir, "drover.db") });
    assert.equal(store.driver, "libsql");
    const event = await store.events.append({
      type: "test",
      subjectId: "x",
      data: {},
      at: new Date(),
    });
    assert.ok(event.seq > 0);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("examples/embed-node: an in-process agent joins an in-process server", async () => {
  const { stdout } = await run(process.execPath, ["examples/embed-node/main.mjs"], {
    timeout: 30_000,
  });
  const result = JSON.parse(stdout.trim().split("\n").at(-1));
  assert.match(result.fleetId, /^fleet-[0-9a-f]{8}$/);
  assert.match(result.caHash, /^sha256:[0-9a-f]{64}$/);
  assert.match(result.agent.id, /^ag-[0-9a-f]{12}$/);
  assert.equal(result.agent.state, "online");
  assert.deepEqual(result.agent.labels, { site: "example" });
});

test("the nginx compiler and drift hashing work from the built library", async () => {
  const { compileNginxConfig, configHash } = await import("drover");
  const compiled = compileNginxConfig(
    {
      global: { accessLogPath: "/tmp/drover-node/access.json" },
      virtualHosts: [
        {
          id: "vh-node",
          serverNames: ["node.example.com"],
          listenPort: 18081,
          locations: [{ path: "/", proxyPass: "http://127.0.0.1:3000" }],
        },
      ],
    },
    { statusPort: 18082, certificateAvailable: () => true, resolvable: () => true },
  );
  const conf = compiled.files.find((file) => file.path === "nginx.conf");
  assert.match(conf.content, /server_name node\.example\.com;/);
  assert.deepEqual(
    compiled.hosts.map((host) => [host.id, host.status]),
    [["vh-node", "applied"]],
  );
  const files = [{ path: "nginx/nginx.conf", mode: 0o644, content: conf.content }];
  assert.match(configHash(files), /^sha256:[0-9a-f]{64}$/);
  assert.equal(configHash(files), configHash([...files]));
});

test("the agent's nginx manager drives a real nginx from the built library", async (t) => {
  const { compileNginxConfig, createNginxManager } = await import("drover");
  const { createServer } = await import("node:http");
  const nginxBin = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => existsSync(path));
  if (!nginxBin) throw new Error("nginx is not installed: run scripts/setup-test-system.sh");
  const free = () =>
    new Promise((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address();
        probe.close(() => resolve(port));
      });
    });
  const backend = createServer((_, res) => res.end("from node")).listen(0, "127.0.0.1");
  await new Promise((resolve) => backend.once("listening", resolve));
  const [port, statusPort] = [await free(), await free()];
  const prefix = mkdtempSync(join(tmpdir(), "drover-node-nginx-"));
  const manager = createNginxManager({ prefix, statusPort, nginxBin });
  t.after(async () => {
    await manager.stop(2000);
    backend.close();
    rmSync(prefix, { recursive: true, force: true });
  });
  const { content } = compileNginxConfig(
    {
      virtualHosts: [
        {
          id: "vh-node",
          serverNames: ["node.test"],
          listenPort: port,
          locations: [{ path: "/", proxyPass: `http://127.0.0.1:${backend.address().port}` }],
        },
      ],
    },
    {
      statusPort,
      certificateAvailable: () => true,
      resolvable: () => true,
      listenAddress: "127.0.0.1",
      runtime: manager.runtime,
    },
  ).files[0];
  const report = await manager.apply(content, "v1");
  assert.equal(report.status, "SUCCESS", report.errors.join("\n"));
  const { stdout } = await run("curl", [
    "-s",
    "-H",
    "Host: node.test",
    `http://127.0.0.1:${port}/`,
  ]);
  assert.equal(stdout, "from node");
  const refused = await manager.apply(
    content.replace("server_tokens off;", "bogus_directive on;"),
    "v2",
  );
  assert.notEqual(refused.status, "SUCCESS");
  assert.match(refused.errors.join("\n"), /unknown directive "bogus_directive"/);
  assert.equal((await manager.status()).configVersion, "v1");
});
