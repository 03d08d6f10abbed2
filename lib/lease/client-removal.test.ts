// Issue 14, "leases of deleted users or revoked clients end": a user who lost their membership, an operator whose certificates are all revoked or expired.

import { describe, expect, test } from "bun:test";
import {
  bringUp,
  type LeaseLab,
  member,
  ORG,
  openLab,
  seedLab,
  WORKSPACE,
} from "../../test/support/lease-fixture.ts";
import { tempStoreDir } from "../../test/support/store.ts";
import { manualTimers } from "../../test/support/timers.ts";
import { operatorPrincipal } from "../auth/index.ts";
import { parseSelector } from "../selector/index.ts";

const { freshPath } = tempStoreDir("drover-lease-removal-");
const T0 = Date.parse("2026-06-01T10:00:00Z");
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const rpi = { workspaceId: WORKSPACE, selector: parseSelector("board=rpi4") };
const operator = operatorPrincipal("op-1");

async function lab(time: ReturnType<typeof manualTimers>): Promise<LeaseLab> {
  const opened = await openLab(freshPath(), time);
  await seedLab(
    opened.store,
    { users: { alice: "admin" }, exporters: { "ag-e1": { board: "rpi4" } } },
    time.now(),
  );
  await bringUp(opened.engine, "ag-e1");
  return opened;
}

/** An operator certificate of op-1, as registration records it. */
async function addCertificate(l: LeaseLab, serial: string, notAfter: number): Promise<void> {
  await l.store.certificates.insert({
    serial,
    subjectId: "op-1",
    role: "operator",
    notAfter: new Date(notAfter),
    issuedAt: new Date(T0),
  });
}

describe("client removal", () => {
  test("an operator keeps its lease while one certificate is live; with every one revoked it ends as ClientRemoved and the next holder gets the exporter", async () => {
    const time = manualTimers(T0);
    const l = await lab(time);
    await addCertificate(l, "aa01", T0 + 30 * DAY);
    await addCertificate(l, "aa02", T0 + 60 * DAY);
    const held = await l.engine.request(operator, { ...rpi, durationMs: 60 * MIN });
    expect([held.phase, held.client]).toEqual(["Ready", "operator:op-1"]);
    const next = await l.engine.request(member("alice"), { ...rpi, durationMs: 60 * MIN });
    expect(next.phase).toBe("Pending");

    await l.store.certificates.revoke("aa01", time.now());
    await l.engine.reconcile();
    expect((await l.engine.get(operator, held.name)).phase).toBe("Ready");

    await l.store.certificates.revoke("aa02", time.now());
    await l.engine.reconcile();
    const ended = await l.engine.get(operator, held.name);
    expect([ended.phase, ended.reason]).toEqual(["Ended", "ClientRemoved"]);
    expect(ended.endedAt?.getTime()).toBe(T0);
    // The exporter runs its afterLease hook, then serves the queue.
    expect((await l.store.exporters.get("ag-e1"))?.status).toBe("AfterLease");
    await l.engine.reportExporterStatus("ag-e1", { status: "Available" });
    await l.engine.reconcile();
    const granted = await l.engine.get(member("alice"), next.name);
    expect([granted.phase, granted.fencingToken]).toEqual(["Ready", 2]);
    await l.close();
  });

  test("an operator's lease ends when its last certificate expires: the scheduler wakes at that moment", async () => {
    const time = manualTimers(T0);
    const l = await lab(time);
    await addCertificate(l, "bb01", T0 + 10 * MIN);
    const held = await l.engine.request(operator, { ...rpi, durationMs: 60 * MIN });
    expect(held.phase).toBe("Ready");
    // The credential's end comes before the lease's warning and end.
    expect((await l.engine.reconcile())?.getTime()).toBe(T0 + 10 * MIN);
    time.advance(10 * MIN - 1);
    await l.engine.reconcile();
    expect((await l.engine.get(operator, held.name)).phase).toBe("Ready");
    time.advance(1);
    await l.engine.reconcile();
    const ended = await l.engine.get(operator, held.name);
    expect([ended.phase, ended.reason]).toEqual(["Ended", "ClientRemoved"]);
    await l.close();
  });

  test("an operator unknown to the store (no certificate recorded) holds nothing", async () => {
    const time = manualTimers(T0);
    const l = await lab(time);
    const lease = await l.engine.request(operator, { ...rpi, durationMs: 60 * MIN });
    expect([lease.phase, lease.reason]).toEqual(["Ended", "ClientRemoved"]);
    expect((await l.store.exporters.get("ag-e1"))?.leaseName).toBeUndefined();
    await l.close();
  });

  test("a user whose membership is removed loses both a held and a queued lease", async () => {
    const time = manualTimers(T0);
    const l = await lab(time);
    const held = await l.engine.request(member("alice"), { ...rpi, durationMs: 60 * MIN });
    const queued = await l.engine.request(member("alice"), { ...rpi, durationMs: 60 * MIN });
    expect([held.phase, queued.phase]).toEqual(["Ready", "Pending"]);
    await l.store.memberships.delete("alice", ORG);
    await l.engine.reconcile();
    const after = await l.store.leases.list({});
    expect(after.map((lease) => [lease.name, lease.phase, lease.reason])).toEqual([
      [held.name, "Ended", "ClientRemoved"],
      [queued.name, "Ended", "ClientRemoved"],
    ]);
    await l.close();
  });
});
