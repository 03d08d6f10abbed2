// Issue 13, heartbeats: reports held in memory and flushed in batches; state changes, the sweep and shutdown written at once.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { insertAgents } from "../../test/support/agent-rows.ts";
import { healthReport } from "../../test/support/health-report.ts";
import { manualClock } from "../../test/support/in-process.ts";
import { waitFor } from "../../test/support/loopback.ts";
import { manualTimers } from "../../test/support/timers.ts";
import { createEventBus } from "../events/index.ts";
import { openStore, type Store } from "../store/index.ts";
import type { FleetAuthority } from "./authority.ts";
import type { FleetDeps } from "./deps.ts";
import { createFleet, type Fleet } from "./fleet.ts";
import type { AgentHealth } from "./health.ts";

const interval = 10_000;
let store: Store;
let clock: ReturnType<typeof manualClock>;
let fleet: Fleet;

beforeEach(async () => {
  store = await openStore({ path: ":memory:" });
  clock = manualClock(Date.UTC(2026, 0, 1));
  const deps: FleetDeps = {
    store,
    events: createEventBus({ store, clock }),
    // Health streams never issue certificates: no authority is needed here.
    authority: {} as FleetAuthority,
    clock,
    settings: { heartbeatIntervalMs: interval, certificateLifetimeMs: 86_400_000 },
  };
  fleet = createFleet(deps);
  await insertAgents(store, ["a1", "a2"], clock.now());
});

afterEach(async () => {
  await store.close();
});

const report = (cpuPercent: number, failing = false): AgentHealth => ({
  ...healthReport(clock.now(), cpuPercent),
  checks: [{ name: "disk", ok: !failing, message: failing ? "full" : "ok" }],
});

async function eventsOf(type: string): Promise<Array<{ subjectId: string; data: unknown }>> {
  return (await store.events.listSince(0, 1000)).filter((event) => event.type === type);
}

describe("heartbeats in memory, flushed in batches", () => {
  test("a report waits in memory until the flush task writes it; reads through the fleet see it at once", async () => {
    const stream = await fleet.openHealthStream("a1");
    await stream.record(report(42));
    expect((await store.agents.get("a1"))?.lastHealth).toBeNull();
    expect((await fleet.getAgent("a1")).lastHealth?.cpuPercent).toBe(42);
    expect(
      (await fleet.listAgents({})).agents.find((a) => a.id === "a1")?.lastHealth?.cpuPercent,
    ).toBe(42);

    const timers = manualTimers();
    const stop = new AbortController();
    const task = fleet.heartbeatFlushTask(timers, (error) => {
      throw error;
    })(stop.signal);
    timers.advance(999);
    expect((await store.agents.get("a1"))?.lastHealth).toBeNull();
    timers.advance(1);
    const written = await waitFor(
      "the flush",
      async () => (await store.agents.get("a1"))?.lastHealth ?? undefined,
      {
        timeoutMs: 5000,
        intervalMs: 5,
      },
    );
    expect(written.cpuPercent).toBe(42);
    expect((await store.agents.get("a1"))?.lastSeenAt).toEqual(clock.now());
    stop.abort();
    await task;
  });

  test("one flush writes every agent's last report in one statement", async () => {
    const one = await fleet.openHealthStream("a1");
    const two = await fleet.openHealthStream("a2");
    await one.record(report(1));
    await one.record(report(2));
    await two.record(report(3));
    expect(await fleet.flushHeartbeats()).toBe(2);
    expect((await store.agents.get("a1"))?.lastHealth?.cpuPercent).toBe(2);
    expect((await store.agents.get("a2"))?.lastHealth?.cpuPercent).toBe(3);
    // Nothing is pending any more.
    expect(await fleet.flushHeartbeats()).toBe(0);
  });

  test("a state change is written at once, with its event and the report that made it", async () => {
    const stream = await fleet.openHealthStream("a1");
    await stream.record(report(7, true));
    const row = await store.agents.get("a1");
    expect(row?.state).toBe("degraded");
    expect(row?.lastHealth?.cpuPercent).toBe(7);
    const updated = await eventsOf("agent.updated");
    expect(updated.map((event) => (event.data as { state: string }).state)).toEqual(["degraded"]);
    // A report keeping the state writes nothing now.
    await stream.record(report(8, true));
    expect((await store.agents.get("a1"))?.lastHealth?.cpuPercent).toBe(7);
  });

  test("the sweep compares the in-memory last seen, not the stale stored one", async () => {
    const stream = await fleet.openHealthStream("a1");
    clock.advance(2 * interval);
    // Only in memory: the store still says the agent was last seen when it connected.
    await stream.record(report(5));
    clock.advance(1.5 * interval);
    await fleet.markSilentAgentsOffline();
    expect((await store.agents.get("a1"))?.state).toBe("online");
    expect((await store.agents.get("a1"))?.lastHealth?.cpuPercent).toBe(5);
    clock.advance(2 * interval);
    await fleet.markSilentAgentsOffline();
    expect((await store.agents.get("a1"))?.state).toBe("offline");
    const reasons = (await eventsOf("agent.disconnected")).map(
      (event) => (event.data as { reason: string }).reason,
    );
    expect(reasons).toEqual(["connection_timeout"]);
  });

  test("closing the last stream writes its unflushed report with the disconnection", async () => {
    const stream = await fleet.openHealthStream("a1");
    await stream.record(report(9));
    await stream.close();
    const row = await store.agents.get("a1");
    expect(row?.state).toBe("offline");
    expect(row?.lastHealth?.cpuPercent).toBe(9);
  });

  test("a clean shutdown writes every pending report before marking agents offline", async () => {
    const one = await fleet.openHealthStream("a1");
    const two = await fleet.openHealthStream("a2");
    await one.record(report(11));
    await two.record(report(12));
    await fleet.stopHealthIntake();
    for (const [id, cpu] of [
      ["a1", 11],
      ["a2", 12],
    ] as const) {
      const row = await store.agents.get(id);
      expect(row?.state).toBe("offline");
      expect(row?.lastHealth?.cpuPercent).toBe(cpu);
    }
    const reasons = (await eventsOf("agent.disconnected")).map(
      (event) => (event.data as { reason: string }).reason,
    );
    expect(reasons).toEqual(["server_shutdown", "server_shutdown"]);
  });

  test("a report of an agent deleted meanwhile is skipped by the flush", async () => {
    const stream = await fleet.openHealthStream("a1");
    await stream.record(report(3));
    await store.agents.delete("a1");
    expect(await fleet.flushHeartbeats()).toBe(0);
  });
});
