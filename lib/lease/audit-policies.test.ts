// Issue 14, the lease engine's audit and policies: every driver call stored as exporter.driver_called and shown only inside its organization; policies read by members, written by admins, hidden from outsiders.

import { describe, expect, test } from "bun:test";
import { bringUp, member, openLab, seedLab, WORKSPACE } from "../../test/support/lease-fixture.ts";
import { tempStoreDir } from "../../test/support/store.ts";
import { manualTimers } from "../../test/support/timers.ts";
import type { Principal } from "../auth/index.ts";
import { parseSelector } from "../selector/index.ts";
import { eventVisibility } from "../tenancy/index.ts";
import { DEFAULT_LEASE_POLICY } from "./policy.ts";
import type { LeasePolicy } from "./types.ts";

const { freshPath } = tempStoreDir("drover-lease-audit-");
const T0 = Date.parse("2026-06-01T10:00:00Z");
const MIN = 60_000;
/** A user of another organization: the lab's ids must look unknown to them. */
const outsider: Principal = {
  kind: "user",
  id: "olga",
  organizationRoles: new Map([["org-other", "owner"]]),
};
const users = { alice: "admin", vera: "viewer" } as const;

describe("audit", () => {
  test("a driver call is stored as exporter.driver_called with who, driver, method, fencing token and result; members see it, outsiders do not", async () => {
    const time = manualTimers(T0);
    const lab = await openLab(freshPath(), time);
    await seedLab(lab.store, { users, exporters: { "ag-e1": { board: "rpi4" } } }, time.now());
    await bringUp(lab.engine, "ag-e1");
    const lease = await lab.engine.request(member("alice"), {
      workspaceId: WORKSPACE,
      selector: parseSelector("board=rpi4"),
      durationMs: 30 * MIN,
    });
    expect(lease.phase).toBe("Ready");

    await lab.engine.recordAudit("ag-e1", {
      driverUuid: "power-0",
      severity: "INFO",
      message: "power on",
      leaseName: lease.name,
      fencingToken: lease.fencingToken as number,
      client: lease.client,
      method: "on",
      result: "ok",
    });

    const stored = (await lab.store.events.listSince(0, 1000)).filter(
      (e) => e.type === "exporter.driver_called",
    );
    expect(stored).toHaveLength(1);
    const [event] = stored;
    expect(event?.subjectId).toBe("ag-e1");
    expect(event?.data).toEqual({
      exporter_id: "ag-e1",
      workspace_id: WORKSPACE,
      organization_id: "org-lab",
      driver_uuid: "power-0",
      severity: "INFO",
      message: "power on",
      lease_name: lease.name,
      fencing_token: 1,
      client: "user:alice",
      method: "on",
      result: "ok",
    });
    const deps = { store: lab.store, events: lab.events, clock: time };
    const seenBy = async (principal: Principal) =>
      (await eventVisibility(deps, principal))(event as NonNullable<typeof event>);
    expect(await seenBy(member("vera", "viewer"))).toBe(true);
    expect(await seenBy(outsider)).toBe(false);

    // Unknown exporters and oversized fields are refused; nothing more is stored.
    await expect(
      lab.engine.recordAudit("ag-nope", { driverUuid: "x", severity: "INFO", message: "" }),
    ).rejects.toMatchObject({ code: "not_found" });
    await expect(
      lab.engine.recordAudit("ag-e1", {
        driverUuid: "power-0",
        severity: "INFO",
        message: "x".repeat(5000),
      }),
    ).rejects.toMatchObject({ code: "invalid_argument" });
    const after = await lab.store.events.listSince(0, 1000);
    expect(after.filter((e) => e.type === "exporter.driver_called")).toHaveLength(1);
    await lab.close();
  });
});

describe("policies", () => {
  const policy: LeasePolicy = {
    name: "everyone-on-pis",
    principals: ["*"],
    exporterSelector: parseSelector("board=rpi4"),
    maxDurationMs: 60 * MIN,
    maxPriority: 1,
  };

  test("a viewer reads the policies and cannot write them; an outsider finds no workspace; an empty list restores the default", async () => {
    const time = manualTimers(T0);
    const lab = await openLab(freshPath(), time);
    await seedLab(lab.store, { users, exporters: {} }, time.now());
    const vera = member("vera", "viewer");
    const alice = member("alice");

    expect(await lab.engine.listPolicies(vera, WORKSPACE)).toEqual([DEFAULT_LEASE_POLICY]);
    await expect(lab.engine.setPolicies(vera, WORKSPACE, [policy])).rejects.toMatchObject({
      code: "permission_denied",
    });
    await expect(lab.engine.listPolicies(outsider, WORKSPACE)).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(lab.engine.setPolicies(outsider, WORKSPACE, [policy])).rejects.toMatchObject({
      code: "not_found",
    });
    // Refusals wrote nothing.
    expect(await lab.store.leasePolicies.list(WORKSPACE)).toEqual([]);

    expect(await lab.engine.setPolicies(alice, WORKSPACE, [policy])).toEqual([policy]);
    expect(await lab.engine.listPolicies(vera, WORKSPACE)).toEqual([policy]);
    const updated = lab.heard.filter((e) => e.type === "lease.policies_updated");
    expect(updated.map((e) => e.data)).toEqual([
      { workspace_id: WORKSPACE, organization_id: "org-lab", names: [policy.name] },
    ]);
    await expect(
      lab.engine.setPolicies(alice, WORKSPACE, [{ ...policy, maxDurationMs: 0 }]),
    ).rejects.toMatchObject({ code: "invalid_argument" });
    expect(await lab.engine.listPolicies(vera, WORKSPACE)).toEqual([policy]);

    expect(await lab.engine.setPolicies(alice, WORKSPACE, [])).toEqual([DEFAULT_LEASE_POLICY]);
    expect(await lab.engine.listPolicies(vera, WORKSPACE)).toEqual([DEFAULT_LEASE_POLICY]);
    await lab.close();
  });
});
