// Issue 14, the lease engine's fast paths: a grantable request is one transaction, no request jumps the queue, and the scheduler wakes only for what can change a decision.

import { describe, expect, test } from "bun:test";
import {
  bringUp,
  type LeaseLab,
  member,
  openLab,
  seedLab,
  WORKSPACE,
} from "../../test/support/lease-fixture.ts";
import { tempStoreDir } from "../../test/support/store.ts";
import { manualTimers } from "../../test/support/timers.ts";
import { parseSelector } from "../selector/index.ts";
import type { LeasePhase } from "./types.ts";

const { freshPath } = tempStoreDir("drover-lease-fast-");
const T0 = Date.parse("2026-06-01T10:00:00Z");
const MIN = 60_000;
const rpi = { workspaceId: WORKSPACE, selector: parseSelector("board=rpi4") };
const users = { alice: "admin", bob: "admin", carol: "admin" } as const;
const boards = { "ag-e1": { board: "rpi4" }, "ag-e2": { board: "rpi4" } };

/** Every scheduler pass starts by listing leases: which phases each one read. */
function countPasses(lab: LeaseLab): Array<readonly LeasePhase[]> {
  const passes: Array<readonly LeasePhase[]> = [];
  const list = lab.store.leases.list.bind(lab.store.leases);
  lab.store.leases.list = (filter) => {
    if (filter.phases && filter.workspaceIds === undefined) passes.push(filter.phases);
    return list(filter);
  };
  return passes;
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 1));
};

describe("lease fast paths", () => {
  test("a request on a free exporter is Ready from request() alone, in one transaction, with no scheduler pass", async () => {
    const time = manualTimers(T0);
    const lab = await openLab(freshPath(), time);
    await seedLab(lab.store, { users, exporters: boards }, time.now());
    await bringUp(lab.engine, "ag-e1");
    const passes = countPasses(lab);
    const seqBefore = lab.heard.length;
    const lease = await lab.engine.request(member("alice"), { ...rpi, durationMs: 10 * MIN });
    expect([lease.phase, lease.exporterId, lease.fencingToken]).toEqual(["Ready", "ag-e1", 1]);
    expect(passes).toEqual([]);
    expect(lab.heard.slice(seqBefore).map((e) => e.type)).toEqual([
      "lease.requested",
      "lease.granted",
    ]);
    await lab.close();
  });

  test("a request never jumps the queue: a free exporter goes to the earlier waiting request", async () => {
    const time = manualTimers(T0);
    const lab = await openLab(freshPath(), time);
    await seedLab(lab.store, { users, exporters: boards }, time.now());
    await bringUp(lab.engine, "ag-e1");
    const a = await lab.engine.request(member("alice"), { ...rpi, durationMs: 10 * MIN });
    const b = await lab.engine.request(member("bob"), { ...rpi, durationMs: 10 * MIN });
    expect([a.phase, b.phase]).toEqual(["Ready", "Pending"]);
    // ag-e2 comes up with no scheduler running: nothing has served bob yet.
    await bringUp(lab.engine, "ag-e2");
    const c = await lab.engine.request(member("carol"), { ...rpi, durationMs: 10 * MIN });
    expect(c.phase).toBe("Pending");
    const served = await lab.engine.get(member("bob"), b.name);
    expect([served.phase, served.exporterId]).toEqual(["Ready", "ag-e2"]);
    await lab.close();
  });

  test("run(): extensions and the engine's own writes cost no pass; a release costs queue passes only; an extension's new warning time is kept", async () => {
    const time = manualTimers(T0);
    const lab = await openLab(freshPath(), time);
    await seedLab(lab.store, { users, exporters: boards }, time.now());
    await bringUp(lab.engine, "ag-e1");
    const passes = countPasses(lab);
    const abort = new AbortController();
    const running = lab.engine.run(abort.signal);
    await settle();
    expect(passes).toEqual([["Pending", "Ready"]]); // the full pass at start
    passes.length = 0;

    // 10 minutes: the warning goes out 2 minutes before the end (a fifth of the lease).
    const lease = await lab.engine.request(member("alice"), { ...rpi, durationMs: 10 * MIN });
    await settle();
    expect(passes).toEqual([]);
    time.advance(8 * MIN);
    await settle();
    const warnings = () => lab.heard.filter((e) => e.type === "lease.expiring").length;
    expect(warnings()).toBe(1);
    passes.length = 0;

    // +1 minute: the new end is 11 min, its warning 2.2 min before it (8.8 min): told to the loop, no pass now.
    await lab.engine.extend(member("alice"), lease.name, { byMs: MIN });
    await settle();
    expect(passes).toEqual([]);
    time.advance(0.8 * MIN - 1);
    await settle();
    expect(warnings()).toBe(1);
    time.advance(1);
    await settle();
    expect(warnings()).toBe(2);
    passes.length = 0;

    await lab.engine.release(member("alice"), lease.name);
    await lab.engine.reportExporterStatus("ag-e1", { status: "Available" });
    await settle();
    expect(passes.length).toBeGreaterThan(0);
    expect(passes.every((phases) => phases.join() === "Pending")).toBe(true);
    abort.abort();
    await running;
    await lab.close();
  });
});
