// Issue 10, metrics and access logs: telemetry rows are bounded in count (retention window and per-table cap).
import { beforeEach, describe, expect, test } from "bun:test";
import { asc, sql } from "drizzle-orm";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { manualClock } from "../../test/support/in-process.ts";
import { drivers, tempStoreDir } from "../../test/support/store.ts";
import { t0 } from "../../test/support/store-data.ts";
import type { StoreDb } from "./db.ts";
import {
  olderThan,
  pruneTelemetry,
  type RetentionRepository,
  retentionPolicy,
  type TelemetryTable,
} from "./retention.ts";
import { agentLogs, agentMetrics } from "./schema.ts";
import { createStore } from "./store.ts";
import type { Store } from "./types.ts";

const { freshPath } = tempStoreDir("drover-retention-");
const dayMs = 86_400_000;

describe.each(drivers)("%s", (_driver, open) => {
  let store: Store;
  let db: StoreDb;
  const clock = manualClock(t0.getTime());
  const ago = (ms: number) => new Date(clock.now().getTime() - ms);

  beforeEach(async () => {
    const opened = await open(freshPath());
    db = opened.db;
    store = await createStore(opened);
    const org = { name: "Org", createdAt: t0, updatedAt: t0 };
    await store.organizations.insert({ ...org, id: "o1", slug: "o1" });
    for (const id of ["w1", "w2"]) {
      await store.workspaces.insert({ ...org, id, organizationId: "o1", slug: id });
    }
    return async () => store.close();
  });

  /** `count` rows in each telemetry table at this age, ids prefixed `prefix`, alternating workspaces. */
  async function seed(prefix: string, count: number, age: number): Promise<void> {
    const timestamp = ago(age);
    const workspace = (i: number) => (i % 2 === 0 ? "w1" : "w2");
    await store.accessLogs.insertMany(
      Array.from({ length: count }, (_, i) => ({
        id: `${prefix}${i}`,
        agentId: "a1",
        workspaceId: workspace(i),
        timestamp,
        remoteAddr: "192.0.2.1",
        method: "GET",
        uri: `/${prefix}${i}`,
        protocol: "HTTP/1.1",
        host: "example.com",
        status: 200,
        bodyBytesSent: 1,
        responseTimeMs: 1,
      })),
    );
    for (let i = 0; i < count; i += 100) {
      const n = Math.min(100, count - i);
      await db.insert(agentMetrics).values(
        Array.from({ length: n }, (_, j) => ({
          agentId: "a1",
          workspaceId: workspace(i + j),
          timestamp,
          name: `${prefix}${i + j}`,
          value: 1,
          type: "gauge" as const,
          labels: {},
        })),
      );
      await db.insert(agentLogs).values(
        Array.from({ length: n }, (_, j) => ({
          agentId: "a1",
          workspaceId: workspace(i + j),
          timestamp,
          level: "info" as const,
          message: `${prefix}${i + j}`,
          fields: {},
        })),
      );
    }
  }

  const counts = async () => ({
    access_logs: await store.retention.count("access_logs"),
    agent_metrics: await store.retention.count("agent_metrics"),
    agent_logs: await store.retention.count("agent_logs"),
  });
  const each = (n: number) => ({ access_logs: n, agent_metrics: n, agent_logs: n });

  test("rows older than the window go, younger ones stay; the clock decides", async () => {
    await seed("old", 30, 8 * dayMs);
    await seed("edge", 10, 7 * dayMs - 1000);
    await seed("new", 20, 60_000);
    const sweep = await pruneTelemetry(store, clock);
    expect(sweep.deleted).toEqual(each(30));
    expect(await counts()).toEqual(each(30));
    const uris = (await store.accessLogs.list({ limit: 100 })).map((row) => row.uri);
    expect(uris.filter((uri) => uri.startsWith("/old"))).toEqual([]);

    // Two days later the 7-day window has passed the "edge" rows too.
    clock.advance(2 * dayMs);
    expect((await pruneTelemetry(store, clock)).deleted).toEqual(each(10));
    expect(await counts()).toEqual(each(20));
    // A longer window keeps what a shorter one would delete.
    clock.advance(30 * dayMs);
    expect((await pruneTelemetry(store, clock, { retentionDays: 90 })).deleted).toEqual(each(0));
    expect((await pruneTelemetry(store, clock, { retentionDays: 1 })).deleted).toEqual(each(20));
    expect(await counts()).toEqual(each(0));
    clock.advance(-32 * dayMs);
  });

  test("each DELETE removes at most one batch", async () => {
    await seed("old", 250, 10 * dayMs);
    const limits: Array<[TelemetryTable, number]> = [];
    const recording: RetentionRepository = {
      ...store.retention,
      deleteOlderThan: (table, before, limit) => {
        limits.push([table, limit]);
        return store.retention.deleteOlderThan(table, before, limit);
      },
    };
    const sweep = await pruneTelemetry({ retention: recording }, clock, { batchSize: 100 });
    expect(sweep.deleted).toEqual(each(250));
    expect(sweep.largestBatch).toBe(100);
    // 100 + 100 + 50 (short: the table is done) per table.
    expect(limits.filter(([table]) => table === "access_logs")).toHaveLength(3);
    expect(limits.every(([, limit]) => limit <= 100)).toBe(true);
    expect(await counts()).toEqual(each(0));
  });

  test("past the cap the oldest rows go, even inside the window", async () => {
    await seed("a", 40, 3 * dayMs);
    await seed("b", 40, 2 * dayMs);
    const sweep = await pruneTelemetry(store, clock, { maxRowsPerTable: 50, batchSize: 7 });
    expect(sweep.deleted).toEqual(each(30));
    expect(sweep.largestBatch).toBeLessThanOrEqual(7);
    expect(await counts()).toEqual(each(50));
    // Rows deleted from the start: the span of arrival keys is the count again.
    expect(await store.retention.countUpperBound("access_logs")).toBe(50);
    // The survivors are the 50 that arrived last.
    const names = await db
      .select({ name: agentMetrics.name })
      .from(agentMetrics)
      .orderBy(asc(agentMetrics.seq));
    expect(names.map((row) => row.name)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `a${30 + i}`),
      ...Array.from({ length: 40 }, (_, i) => `b${i}`),
    ]);
    const logs = await store.accessLogs.list({ limit: 100 });
    expect(
      logs
        .filter((row) => row.uri.startsWith("/a"))
        .map((row) => row.uri)
        .sort(),
    ).toEqual(Array.from({ length: 10 }, (_, i) => `/a${30 + i}`).sort());
    // Within the cap: nothing more goes.
    expect((await pruneTelemetry(store, clock, { maxRowsPerTable: 50 })).deleted).toEqual(each(0));
  });

  test("an aborted sweep stops between batches", async () => {
    await seed("old", 30, 10 * dayMs);
    const controller = new AbortController();
    const stopping: RetentionRepository = {
      ...store.retention,
      deleteOlderThan: async (table, before, limit) => {
        const deleted = await store.retention.deleteOlderThan(table, before, limit);
        controller.abort();
        return deleted;
      },
    };
    const sweep = await pruneTelemetry(
      { retention: stopping },
      clock,
      { batchSize: 10 },
      controller.signal,
    );
    expect(sweep.deleted).toEqual({ access_logs: 10, agent_metrics: 0, agent_logs: 0 });
    expect(await counts()).toEqual({ access_logs: 20, agent_metrics: 30, agent_logs: 30 });
  });

  test("the age deletes find their rows through an index, not a table scan", async () => {
    const plan = async (table: TelemetryTable) =>
      (await db.all<{ detail: string }>(sql`EXPLAIN QUERY PLAN ${olderThan(table, 0, 10)}`))
        .map((row) => row.detail)
        .join("\n");
    expect(await plan("access_logs")).toContain(
      "SEARCH a USING COVERING INDEX access_logs_workspace_id_timestamp_idx (workspace_id=? AND timestamp<?)",
    );
    expect(await plan("agent_metrics")).toContain("agent_metrics_timestamp_idx (timestamp<?)");
    expect(await plan("agent_logs")).toContain("agent_logs_timestamp_idx (timestamp<?)");
  });

  test("bad arguments are refused naming the field", async () => {
    const fields = async (promise: Promise<unknown>) =>
      (await expectDroverRejection(promise)).details[0]?.field;
    expect(await fields(store.retention.deleteOldest("access_logs", 5001))).toBe("limit");
    expect(await fields(store.retention.deleteOldest("users" as TelemetryTable, 1))).toBe("table");
    expect(
      await fields(store.retention.deleteOlderThan("agent_logs", new Date(Number.NaN), 1)),
    ).toBe("before");
  });
});

test("the policy: 7 days by default, 1 to 3650 accepted", () => {
  expect(retentionPolicy()).toEqual({
    retentionDays: 7,
    maxRowsPerTable: 5_000_000,
    batchSize: 5000,
  });
  expect(retentionPolicy({ retentionDays: 3650 }).retentionDays).toBe(3650);
  for (const retentionDays of [0, 3651, 1.5, Number.NaN]) {
    expect(() => retentionPolicy({ retentionDays })).toThrow("retentionDays");
  }
  expect(() => retentionPolicy({ batchSize: 0 })).toThrow("limit");
  expect(() => retentionPolicy({ maxRowsPerTable: 0 })).toThrow("maxRowsPerTable");
});
