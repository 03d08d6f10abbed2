import { beforeEach, describe, expect, test } from "bun:test";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { drivers, tempStoreDir } from "../../test/support/store.ts";
import { newAgent, t0 } from "../../test/support/store-data.ts";
import { createStore } from "./store.ts";
import type { ConfigHostOutcome, ConfigReport, Store } from "./types.ts";

const { freshPath } = tempStoreDir("drover-config-status-");
const at = (ms: number) => new Date(t0.getTime() + ms);

const hosts: ConfigHostOutcome[] = [
  { id: "v1", status: "applied" },
  { id: "v2", status: "set_aside", reason: "certificate c1 is not available", field: "tls" },
];

const report = (version: string, extra: Partial<ConfigReport> = {}): ConfigReport => ({
  version,
  state: "success",
  errors: [],
  steps: [{ name: "files", ok: true, durationMs: 3, detail: "2 written" }],
  durationMs: 42,
  at: at(10),
  ...extra,
});

describe.each(drivers)("%s", (_driver, open) => {
  let store: Store;
  beforeEach(async () => {
    store = await createStore(await open(freshPath()));
    await store.agents.insert(newAgent("a1"));
    await store.agents.insert(newAgent("a2"));
    return async () => store.close();
  });

  describe("configStatus", () => {
    test("setDesired creates a pending row; get reads it; an agent without one has none", async () => {
      expect(await store.configStatus.get("a1")).toBeNull();
      const row = await store.configStatus.setDesired("a1", { version: "v1", hosts, at: at(1) });
      expect(row).toEqual({
        agentId: "a1",
        desiredVersion: "v1",
        desiredRevision: 1,
        version: "v1",
        revision: 1,
        state: "pending",
        appliedVersion: null,
        appliedRevision: null,
        appliedAt: null,
        durationMs: null,
        errors: [],
        steps: [],
        hosts,
        files: [],
        updatedAt: at(1),
      });
      expect(await store.configStatus.get("a1")).toEqual(row);
      expect(await store.configStatus.get("a2")).toBeNull();
    });

    test("the same desired version keeps the state and updates the hosts", async () => {
      await store.configStatus.setDesired("a1", { version: "v1", hosts: [], at: at(1) });
      const reported = await store.configStatus.report(
        "a1",
        report("v1", { state: "applying", durationMs: null, at: at(2) }),
      );
      expect(reported.state).toBe("applying");
      const again = await store.configStatus.setDesired("a1", { version: "v1", hosts, at: at(3) });
      expect(again).toEqual({ ...reported, hosts, updatedAt: at(3) });
      expect(await store.configStatus.get("a1")).toEqual(again);
    });

    test("setDesiredMany: one call for many agents, each keeping or resetting its own state", async () => {
      await store.configStatus.setDesired("a1", { version: "v1", hosts: [], at: at(1) });
      await store.configStatus.report("a1", report("v1", { at: at(2) }));
      const many = await store.configStatus.setDesiredMany(
        [
          { agentId: "a1", version: "v1", hosts },
          { agentId: "a2", version: "v9", hosts: [] },
        ],
        at(3),
      );
      const byAgent = new Map(many.map((row) => [row.agentId, row]));
      expect(byAgent.get("a1")).toMatchObject({
        state: "success",
        version: "v1",
        hosts,
        files: [],
        updatedAt: at(3),
      });
      expect(byAgent.get("a2")).toMatchObject({
        state: "pending",
        desiredVersion: "v9",
        appliedVersion: null,
      });
      expect(await store.configStatus.setDesiredMany([], at(4))).toEqual([]);
      const unknown = await expectDroverRejection(
        store.configStatus.setDesiredMany([{ agentId: "nope", version: "v1", hosts: [] }], at(4)),
      );
      expect(unknown.code).toBe("not_found");
    });

    test("a new desired version resets to pending, keeping what was applied", async () => {
      await store.configStatus.setDesired("a1", { version: "v1", hosts: [], at: at(1) });
      await store.configStatus.report("a1", report("v1", { at: at(2) }));
      const next = await store.configStatus.setDesired("a1", { version: "v2", hosts, at: at(3) });
      expect(next).toEqual({
        agentId: "a1",
        desiredVersion: "v2",
        desiredRevision: 2,
        version: "v2",
        revision: 2,
        state: "pending",
        appliedVersion: "v1",
        appliedRevision: 1,
        appliedAt: at(2),
        durationMs: null,
        errors: [],
        steps: [],
        hosts,
        files: [],
        updatedAt: at(3),
      });
    });

    test("a success report sets appliedVersion and appliedAt", async () => {
      await store.configStatus.setDesired("a1", { version: "v1", hosts, at: at(1) });
      const row = await store.configStatus.report("a1", report("v1", { at: at(5) }));
      expect(row).toEqual({
        agentId: "a1",
        desiredVersion: "v1",
        desiredRevision: 1,
        version: "v1",
        revision: 1,
        state: "success",
        appliedVersion: "v1",
        appliedRevision: 1,
        appliedAt: at(5),
        durationMs: 42,
        errors: [],
        steps: [{ name: "files", ok: true, durationMs: 3, detail: "2 written" }],
        hosts,
        files: [],
        updatedAt: at(5),
      });
      expect(await store.configStatus.get("a1")).toEqual(row);
    });

    test("a failed report keeps appliedVersion and records the errors", async () => {
      await store.configStatus.setDesired("a1", { version: "v1", hosts: [], at: at(1) });
      await store.configStatus.report("a1", report("v1", { at: at(2) }));
      await store.configStatus.setDesired("a1", { version: "v2", hosts: [], at: at(3) });
      for (const state of ["failed", "rolled_back"] as const) {
        const row = await store.configStatus.report(
          "a1",
          report("v2", {
            state,
            errors: ["nginx: [emerg] bind() failed"],
            steps: [{ name: "nginx.test", ok: false, durationMs: 7 }],
            at: at(4),
          }),
        );
        expect(row).toMatchObject({
          desiredVersion: "v2",
          version: "v2",
          revision: 2,
          state,
          appliedVersion: "v1",
          appliedRevision: 1,
          appliedAt: at(2),
          errors: ["nginx: [emerg] bind() failed"],
          steps: [{ name: "nginx.test", ok: false, durationMs: 7 }],
          updatedAt: at(4),
        });
      }
    });

    test("config versions: one more per new desired hash; a report takes its hash's number", async () => {
      const desire = (version: string, ms: number) =>
        store.configStatus.setDesired("a1", { version, hosts: [], at: at(ms) });
      expect((await desire("v1", 1)).desiredRevision).toBe(1);
      expect((await desire("v1", 2)).desiredRevision).toBe(1);
      await store.configStatus.report("a1", report("v1", { state: "applying", at: at(3) }));
      const second = await desire("v2", 4);
      expect(second).toMatchObject({ desiredRevision: 2, revision: 2, appliedRevision: null });
      // v1's outcome after v2 was wanted: v1's number is no longer on record.
      const late = await store.configStatus.report("a1", report("v1", { at: at(5) }));
      expect(late).toMatchObject({ revision: 0, appliedVersion: "v1", appliedRevision: 0 });
      const applied = await store.configStatus.report("a1", report("v2", { at: at(6) }));
      expect(applied).toMatchObject({ desiredRevision: 2, revision: 2, appliedRevision: 2 });
      expect((await desire("v1", 7)).desiredRevision).toBe(3);
    });

    test("not_found for an unknown agent, and for a report before any desired version", async () => {
      const unknown = await expectDroverRejection(
        store.configStatus.setDesired("nope", { version: "v1", hosts: [], at: t0 }),
      );
      expect(unknown.code).toBe("not_found");
      expect(unknown.message).toContain("nope");
      expect(
        (await expectDroverRejection(store.configStatus.report("nope", report("v1")))).code,
      ).toBe("not_found");
      expect(
        (await expectDroverRejection(store.configStatus.report("a2", report("v1")))).code,
      ).toBe("not_found");
      expect(await store.configStatus.get("a2")).toBeNull();
      expect(await store.configStatus.get("nope")).toBeNull();
    });

    test("an invalid state, version, time or duration is refused and nothing changes", async () => {
      const before = await store.configStatus.setDesired("a1", {
        version: "v1",
        hosts,
        at: at(1),
      });
      const bad: Array<[string, ConfigReport]> = [
        ["state", report("v1", { state: "done" as ConfigReport["state"] })],
        ["version", report("")],
        ["at", report("v1", { at: new Date(Number.NaN) })],
        ["durationMs", report("v1", { durationMs: -1 })],
        ["durationMs", report("v1", { durationMs: 1.5 })],
        ["errors", report("v1", { errors: [1] as unknown as string[] })],
      ];
      for (const [field, input] of bad) {
        const error = await expectDroverRejection(store.configStatus.report("a1", input));
        expect(error.code).toBe("invalid_argument");
        expect(error.details[0]?.field).toBe(field);
      }
      for (const [field, desired] of [
        ["version", { version: "", hosts: [], at: at(2) }],
        ["at", { version: "v2", hosts: [], at: new Date(Number.NaN) }],
      ] as const) {
        const error = await expectDroverRejection(
          store.configStatus.setDesired("a1", { ...desired, hosts: [] }),
        );
        expect(error.code).toBe("invalid_argument");
        expect(error.details[0]?.field).toBe(field);
      }
      expect(await store.configStatus.get("a1")).toEqual(before);
    });

    test("getMany returns the rows of the agents that have one", async () => {
      await store.agents.insert(newAgent("a3"));
      await store.configStatus.setDesired("a1", { version: "v1", hosts: [], at: at(1) });
      await store.configStatus.setDesired("a3", { version: "v3", hosts, at: at(2) });
      const rows = await store.configStatus.getMany(["a3", "a1", "a2", "nope"]);
      expect(rows.map((r) => [r.agentId, r.desiredVersion]).sort()).toEqual([
        ["a1", "v1"],
        ["a3", "v3"],
      ]);
      expect(await store.configStatus.getMany([])).toEqual([]);
      expect((await store.configStatus.getMany(["a3"]))[0]?.hosts).toEqual(hosts);
    });

    test("the row is deleted with its agent", async () => {
      await store.configStatus.setDesired("a1", { version: "v1", hosts, at: at(1) });
      await store.configStatus.setDesired("a2", { version: "v2", hosts, at: at(1) });
      expect(await store.agents.delete("a1")).toBe(true);
      expect(await store.configStatus.get("a1")).toBeNull();
      expect(await store.configStatus.getMany(["a1", "a2"])).toHaveLength(1);
      // A new agent under the same id starts without one.
      await store.agents.insert(newAgent("a1"));
      expect(await store.configStatus.get("a1")).toBeNull();
    });

    test("reportMany: each row as report one by one would leave it, in order, an agent twice included", async () => {
      for (const id of ["a3", "b1", "b2", "b3"]) await store.agents.insert(newAgent(id));
      const pairs = [
        ["a1", "b1"],
        ["a2", "b2"],
        ["a3", "b3"],
      ] as const;
      for (const [a, b] of pairs)
        for (const id of [a, b])
          await store.configStatus.setDesired(id, { version: "v1", hosts, at: at(1) });
      await store.configStatus.setDesired("a2", { version: "v2", hosts, at: at(2) });
      await store.configStatus.setDesired("b2", { version: "v2", hosts, at: at(2) });
      const steps = [
        ["a1", report("v1", { state: "applying", durationMs: null, at: at(3) })],
        ["a2", report("v1", { state: "failed", errors: ["nginx -t"], at: at(4) })],
        ["a1", report("v1", { at: at(5) })],
        ["a3", report("v0", { state: "rolled_back", at: at(6) })],
      ] as const;
      const many = await store.configStatus.reportMany(
        steps.map(([agentId, one]) => ({ agentId, report: one })),
      );
      const alone = [];
      for (const [agentId, one] of steps) {
        const twin = pairs.find(([a]) => a === agentId)?.[1] ?? "";
        alone.push(await store.configStatus.report(twin, one));
      }
      // Each entry's row as its events need it; every column compared below.
      expect(many).toEqual(
        alone.map((row, i) => ({
          agentId: steps[i]?.[0] ?? "",
          version: row.version,
          revision: row.revision,
          state: row.state,
        })),
      );
      expect(await store.configStatus.get("a1")).toMatchObject({
        state: "success",
        appliedVersion: "v1",
        appliedAt: at(5),
      });
      for (const [a, b] of pairs)
        expect({ ...(await store.configStatus.get(a)), agentId: "" }).toEqual({
          ...(await store.configStatus.get(b)),
          agentId: "",
        });
    });

    test("reportMany: no row for an agent without one; an invalid report writes nothing", async () => {
      await store.configStatus.setDesired("a1", { version: "v1", hosts, at: at(1) });
      const rows = await store.configStatus.reportMany([
        { agentId: "a2", report: report("v1") },
        { agentId: "a1", report: report("v1") },
      ]);
      expect(rows[0]).toBeUndefined();
      expect(rows[1]).toEqual({ agentId: "a1", version: "v1", revision: 1, state: "success" });
      expect(await store.configStatus.reportMany([])).toEqual([]);
      const refused = await expectDroverRejection(
        store.configStatus.reportMany([
          { agentId: "a1", report: report("v2") },
          { agentId: "a1", report: report("v2", { durationMs: -1 }) },
        ]),
      );
      expect(refused.code).toBe("invalid_argument");
      expect((await store.configStatus.get("a1"))?.version).toBe("v1");
    });

    test("setDesiredMany past one statement's rows: every agent's row", async () => {
      const ids = Array.from({ length: 520 }, (_, i) => `m${i}`);
      await store.transaction(async (tx) => {
        for (const id of ids) await tx.agents.insert(newAgent(id));
      });
      const rows = await store.configStatus.setDesiredMany(
        ids.map((agentId) => ({ agentId, version: `v-${agentId}`, hosts })),
        at(1),
      );
      expect(rows.map((row) => row.desiredVersion).sort()).toEqual(
        ids.map((id) => `v-${id}`).sort(),
      );
      expect((await store.configStatus.get("m519"))?.hosts).toEqual(hosts);
    });
  });
});
