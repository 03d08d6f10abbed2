// Issue 14, the lease engine: two exporters and three clients competing, a restart mid-queue, two servers on one database, expiry, grace and release.

import { describe, expect, test } from "bun:test";
import { bringUp, member, openLab, seedLab, WORKSPACE } from "../../test/support/lease-fixture.ts";
import { tempStoreDir } from "../../test/support/store.ts";
import { manualTimers } from "../../test/support/timers.ts";
import { parseSelector } from "../selector/index.ts";

const { freshPath } = tempStoreDir("drover-lease-");
const T0 = Date.parse("2026-06-01T10:00:00Z");
const MIN = 60_000;
const rpi = { workspaceId: WORKSPACE, selector: parseSelector("board=rpi4") };
const users = { alice: "admin", bob: "admin", carol: "admin", vera: "viewer" } as const;
const boards = { "ag-e1": { board: "rpi4" }, "ag-e2": { board: "rpi4" } };

describe("lease service", () => {
  test("two exporters, three clients: first come first served, one holder each, tokens grow, restart loses nothing", async () => {
    const path = freshPath();
    const time = manualTimers(T0);
    let lab = await openLab(path, time);
    await seedLab(lab.store, { users, exporters: boards }, time.now());
    await bringUp(lab.engine, "ag-e1");
    await bringUp(lab.engine, "ag-e2");

    const a = await lab.engine.request(member("alice"), { ...rpi, durationMs: 30 * MIN });
    const b = await lab.engine.request(member("bob"), { ...rpi, durationMs: 30 * MIN });
    const c = await lab.engine.request(member("carol"), { ...rpi, durationMs: 30 * MIN });
    expect([a.phase, b.phase, c.phase]).toEqual(["Ready", "Ready", "Pending"]);
    expect(new Set([a.exporterId, b.exporterId])).toEqual(new Set(["ag-e1", "ag-e2"]));
    expect(c.reason).toBe("NotAvailable");
    expect(c.queuePosition).toBe(1);

    // kill: a new engine on the same file; exporters come back after the restart.
    await lab.close();
    lab = await openLab(path, time);
    await lab.engine.recover();
    expect((await lab.engine.get(member("carol"), c.name)).phase).toBe("Pending");
    await lab.engine.exporterOnline("ag-e1");
    await lab.engine.exporterOnline("ag-e2");
    await lab.engine.reportExporterStatus("ag-e1", { status: "Available" });
    await lab.engine.reportExporterStatus("ag-e2", { status: "Available" });
    await lab.engine.reconcile();
    expect((await lab.engine.get(member("alice"), a.name)).phase).toBe("Ready");
    expect((await lab.engine.get(member("carol"), c.name)).phase).toBe("Pending");

    // alice releases: her exporter runs its afterLease hook first (NotReady), then carol gets it.
    await lab.engine.release(member("alice"), a.name);
    await lab.engine.reconcile();
    expect((await lab.engine.get(member("carol"), c.name)).reason).toBe("NotReady");
    await lab.engine.reportExporterStatus(a.exporterId as string, { status: "Available" });
    await lab.engine.reconcile();
    const granted = await lab.engine.get(member("carol"), c.name);
    expect(granted.phase).toBe("Ready");
    expect(granted.exporterId).toBe(a.exporterId as string);
    expect(granted.fencingToken).toBe((a.fencingToken as number) + 1);
    const ready = (await lab.store.leases.list({ phases: ["Ready"] }))
      .map((l) => l.exporterId)
      .sort();
    expect(ready).toEqual(["ag-e1", "ag-e2"]);
    await lab.close();
  });

  test("two servers (processes) on one database racing for one exporter: exactly one grant", async () => {
    const path = freshPath();
    const time = manualTimers(T0);
    const lab = await openLab(path, time);
    await seedLab(lab.store, { users, exporters: { "ag-e1": { board: "rpi4" } } }, time.now());
    await lab.engine.registerExporter("ag-e1", { claimedLabels: {}, reports: [] });
    const x = await lab.engine.request(member("alice"), { ...rpi, durationMs: MIN });
    const y = await lab.engine.request(member("bob"), { ...rpi, durationMs: MIN });
    expect([x.reason, y.reason]).toEqual(["Offline", "Offline"]);
    await lab.engine.exporterOnline("ag-e1");
    await lab.engine.reportExporterStatus("ag-e1", { status: "Available" });
    await lab.close();
    const script = new URL("../../test/support/lease-race-server.ts", import.meta.url).pathname;
    const servers = [0, 1].map(() =>
      Bun.spawn([process.execPath, script, path, String(T0)], {
        stdout: "pipe",
        stderr: "inherit",
      }),
    );
    const outputs = (await Promise.all(
      servers.map((server) => new Response(server.stdout).json()),
    )) as Array<{ granted: number }>;
    expect(await Promise.all(servers.map((server) => server.exited))).toEqual([0, 0]);
    expect(outputs.reduce((sum, out) => sum + out.granted, 0)).toBe(1);
    const after = await openLab(path, time);
    const ready = await after.store.leases.list({ phases: ["Ready"] });
    expect(ready.map((l) => [l.name, l.fencingToken])).toEqual([[x.name, 1]]);
    expect((await after.store.exporters.get("ag-e1"))?.fencingToken).toBe(1);
    const stored = await after.store.events.listSince(0, 1000);
    expect(stored.filter((e) => e.type === "lease.granted")).toHaveLength(1);
    await after.close();
  });

  test("run(): expiry at the end, one warning before it, grace after going offline", async () => {
    const time = manualTimers(T0);
    const lab = await openLab(freshPath(), time, { exporterOfflineGraceMs: 2 * MIN });
    await seedLab(lab.store, { users, exporters: boards }, time.now());
    await bringUp(lab.engine, "ag-e1");
    await bringUp(lab.engine, "ag-e2");
    const abort = new AbortController();
    const running = lab.engine.run(abort.signal);
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
    };
    await settle();
    const lease = await lab.engine.request(member("alice"), { ...rpi, durationMs: 10 * MIN });
    expect(lease.phase).toBe("Ready");
    time.advance(8 * MIN - 1);
    await settle();
    expect(lab.heard.filter((e) => e.type === "lease.expiring")).toHaveLength(0);
    time.advance(1);
    await settle();
    expect(lab.heard.filter((e) => e.type === "lease.expiring")).toHaveLength(1);
    time.advance(2 * MIN - 1);
    await settle();
    expect((await lab.engine.get(member("alice"), lease.name)).phase).toBe("Ready");
    time.advance(1);
    await settle();
    const ended = await lab.engine.get(member("alice"), lease.name);
    expect([ended.phase, ended.reason]).toEqual(["Ended", "Expired"]);
    expect(ended.endedAt?.getTime()).toBe(T0 + 10 * MIN);

    // Offline during a lease: the holder is told at once; back within the grace it continues; past it, it ends.
    const other = await lab.engine.request(member("bob"), { ...rpi, durationMs: 60 * MIN });
    expect(other.phase).toBe("Ready");
    await lab.engine.exporterOffline(other.exporterId as string);
    expect(lab.heard.some((e) => e.type === "exporter.lease_interrupted")).toBe(true);
    time.advance(MIN);
    await settle();
    await lab.engine.exporterOnline(other.exporterId as string);
    time.advance(5 * MIN);
    await settle();
    expect((await lab.engine.get(member("bob"), other.name)).phase).toBe("Ready");
    await lab.engine.exporterOffline(other.exporterId as string);
    time.advance(2 * MIN);
    await settle();
    const cut = await lab.engine.get(member("bob"), other.name);
    expect([cut.phase, cut.reason]).toEqual(["Ended", "ExporterOffline"]);
    abort.abort();
    await running;
    await lab.close();
  });

  test("refusals store nothing; unsatisfiable requests end at once; extend and force-release rules", async () => {
    const time = manualTimers(T0);
    const lab = await openLab(freshPath(), time);
    await seedLab(lab.store, { users, exporters: boards }, time.now());
    await bringUp(lab.engine, "ag-e1");
    const refuse = async (p: Promise<unknown>, code: string) =>
      expect(p).rejects.toMatchObject({ code });
    await refuse(
      lab.engine.request(member("alice"), { ...rpi, durationMs: 0 }),
      "invalid_argument",
    );
    await refuse(
      lab.engine.request(member("alice"), {
        ...rpi,
        durationMs: MIN,
        endTime: new Date(T0 + 2 * MIN),
      }),
      "invalid_argument",
    );
    await refuse(
      lab.engine.request(member("alice"), { ...rpi, durationMs: MIN, priority: 101 }),
      "invalid_argument",
    );
    await refuse(
      lab.engine.request(member("alice"), { ...rpi, durationMs: MIN, priority: 5 }),
      "permission_denied",
    );
    expect(await lab.store.leases.list({})).toHaveLength(0);

    const noMatch = await lab.engine.request(member("alice"), {
      ...rpi,
      selector: parseSelector("board=jetson"),
      durationMs: MIN,
    });
    const noAccess = await lab.engine.request(member("vera"), { ...rpi, durationMs: MIN });
    const tooLong = await lab.engine.request(member("alice"), {
      ...rpi,
      durationMs: 25 * 60 * MIN,
    });
    expect([noMatch, noAccess, tooLong].map((l) => [l.phase, l.reason])).toEqual([
      ["Ended", "NoMatch"],
      ["Ended", "NoAccess"],
      ["Ended", "DurationExceedsPolicy"],
    ]);
    expect(noMatch.conditions.find((c) => c.type === "Unsatisfiable")?.status).toBe("True");

    const held = await lab.engine.request(member("alice"), { ...rpi, durationMs: 60 * MIN });
    await refuse(
      lab.engine.extend(member("alice"), held.name, { fromNowMs: 30 * MIN }),
      "invalid_argument",
    );
    await refuse(
      lab.engine.extend(member("alice"), held.name, { byMs: 24 * 60 * MIN }),
      "failed_precondition",
    );
    const longer = await lab.engine.extend(member("alice"), held.name, { byMs: 15 * MIN });
    expect(longer.endTime?.getTime()).toBe(T0 + 75 * MIN);
    await refuse(lab.engine.authorizeDial(member("bob"), held.name), "permission_denied");
    expect((await lab.engine.authorizeDial(member("alice"), held.name)).fencingToken).toBe(1);
    await refuse(lab.engine.release(member("bob"), held.name), "failed_precondition");
    await refuse(lab.engine.release(member("bob"), held.name, "user:carol"), "failed_precondition");
    const forced = await lab.engine.release(member("bob"), held.name, "user:alice");
    expect(forced.reason).toBe("ForceReleased");
    await refuse(lab.engine.authorizeDial(member("alice"), held.name), "failed_precondition");
    await lab.close();
  });
});
