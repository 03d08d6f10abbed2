// Issue 14, the lease store's conditional writes on @libsql/client under Node: two servers racing for one exporter grant once; fencing tokens survive reopening.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { openNodeLab } from "../support/lease-node.mjs";

const run = promisify(execFile);
const raceServer = fileURLToPath(new URL("../support/lease-race-server-node.mjs", import.meta.url));
const T0 = Date.parse("2026-06-01T10:00:00Z");
const MIN = 60_000;
const ORG = "org-lab";
const WORKSPACE = "ws-lab";
const dir = mkdtempSync(join(tmpdir(), "drover-node-lease-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const member = (id) => ({ kind: "user", id, organizationRoles: new Map([[ORG, "admin"]]) });
const rpi = (drover) => ({ workspaceId: WORKSPACE, selector: drover.parseSelector("board=rpi4") });

/** An organization, its workspace, two admins and one exporter agent (registered, offline). */
async function seed(lab) {
  const at = new Date(T0);
  const { store } = lab;
  await store.organizations.insert({
    id: ORG,
    name: "Lab",
    slug: "lab",
    createdAt: at,
    updatedAt: at,
  });
  await store.workspaces.insert({
    id: WORKSPACE,
    organizationId: ORG,
    name: "Bench",
    slug: "bench",
    createdAt: at,
    updatedAt: at,
  });
  for (const id of ["alice", "bob"]) {
    await store.users.insert({
      id,
      email: `${id}@lab.test`,
      passwordHash: "x",
      createdAt: at,
      updatedAt: at,
    });
    await store.memberships.upsert({ userId: id, scope: ORG, role: "admin", createdAt: at });
  }
  await store.agents.insert({
    id: "ag-e1",
    name: "ag-e1",
    hostname: "ag-e1.lab",
    ip: "10.0.0.1",
    version: "test",
    labels: { board: "rpi4" },
    capabilities: [],
    state: "online",
    createdAt: at,
    updatedAt: at,
  });
  await store.agents.update("ag-e1", { workspaceId: WORKSPACE }, at);
  await lab.engine.registerExporter("ag-e1", { claimedLabels: {}, reports: [] });
}

/** The holder releases; the exporter's afterLease hook reports done; the next pass grants. */
async function handOver(lab, holder, name) {
  await lab.engine.release(member(holder), name);
  await lab.engine.reportExporterStatus("ag-e1", { status: "Available" });
  await lab.engine.reconcile();
}

test("two Node servers on one database file race for one exporter: exactly one grant; tokens survive reopening", async () => {
  const drover = await import("drover");
  const path = join(dir, "race.db");
  let lab = await openNodeLab(drover, path, T0);
  assert.equal(lab.store.driver, "libsql");
  await seed(lab);
  const x = await lab.engine.request(member("alice"), { ...rpi(drover), durationMs: 30 * MIN });
  const y = await lab.engine.request(member("bob"), { ...rpi(drover), durationMs: 30 * MIN });
  assert.deepEqual([x.reason, y.reason], ["Offline", "Offline"]);
  // Online and Available, but no pass yet: the grant is left to the two servers.
  await lab.engine.exporterOnline("ag-e1");
  await lab.engine.reportExporterStatus("ag-e1", { status: "Available" });
  await lab.close();

  const outputs = await Promise.all(
    [0, 1].map(() => run(process.execPath, [raceServer, path, String(T0)], { timeout: 30_000 })),
  );
  const granted = outputs.map(({ stdout }) => JSON.parse(stdout.trim().split("\n").at(-1)).granted);
  assert.equal(granted[0] + granted[1], 1);

  lab = await openNodeLab(drover, path, T0 + MIN);
  const ready = await lab.store.leases.list({ phases: ["Ready"] });
  assert.deepEqual(
    ready.map((l) => [l.name, l.fencingToken]),
    [[x.name, 1]],
  );
  assert.equal((await lab.store.exporters.get("ag-e1")).fencingToken, 1);
  const stored = await lab.store.events.listSince(0, 1000);
  assert.equal(stored.filter((e) => e.type === "lease.granted").length, 1);

  // The next holder gets 2; after reopening, the one after gets 3: a token is never reused.
  await handOver(lab, "alice", x.name);
  assert.equal((await lab.engine.get(member("bob"), y.name)).fencingToken, 2);
  await lab.close();
  lab = await openNodeLab(drover, path, T0 + 2 * MIN);
  await lab.engine.recover();
  await lab.engine.exporterOnline("ag-e1");
  await lab.engine.reportExporterStatus("ag-e1", { status: "Available" });
  assert.equal((await lab.store.exporters.get("ag-e1")).fencingToken, 2);
  const z = await lab.engine.request(member("alice"), { ...rpi(drover), durationMs: 30 * MIN });
  assert.equal(z.phase, "Pending");
  await handOver(lab, "bob", y.name);
  const third = await lab.engine.get(member("alice"), z.name);
  assert.deepEqual([third.phase, third.fencingToken], ["Ready", 3]);
  await lab.close();
});
