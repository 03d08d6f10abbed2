// Issue 13, config change applied on 10,000 agents: agents' reports arriving together share commits.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { tempStoreDir } from "../../test/support/store.ts";
import { newAgent, t0 } from "../../test/support/store-data.ts";
import { createEventBus, type EventBus, type FleetEvent } from "../events/index.ts";
import { openBunSqlite } from "../store/driver-bun.ts";
import { createStore } from "../store/store.ts";
import type { Store } from "../store/types.ts";
import type { Clock, Timers } from "../time/index.ts";
import { createStatusRecorder, reportGatherMs, type StatusRecorder } from "./status.ts";
import type { ConfigStatusReport } from "./types.ts";

const { freshPath } = tempStoreDir("drover-status-");
const clock: Clock = { now: () => t0 };
const agentIds = Array.from({ length: 600 }, (_, i) => `a${String(i).padStart(3, "0")}`);

let store: Store;
let bus: EventBus;
let commits: number;
let events: FleetEvent[];
/** The windows asked for, fired by the test. */
let windows: { ms: number; fire: () => void; cancelled: boolean }[];
let status: StatusRecorder;

const timers: Timers = {
  after(ms, fire) {
    const window = { ms, fire, cancelled: false };
    windows.push(window);
    return () => {
      window.cancelled = true;
    };
  },
};

beforeEach(async () => {
  store = await createStore(await openBunSqlite(freshPath()));
  const org = { name: "Org", createdAt: t0, updatedAt: t0 };
  await store.organizations.insert({ ...org, id: "o1", slug: "o1" });
  await store.workspaces.insert({ ...org, id: "w1", organizationId: "o1", slug: "w1" });
  await store.transaction(async (tx) => {
    for (const id of agentIds) await tx.agents.insert({ ...newAgent(id), workspaceId: "w1" });
    await tx.configStatus.setDesiredMany(
      agentIds.map((agentId) => ({ agentId, version: "sha256:v1", hosts: [] })),
      t0,
    );
  });
  // Every transaction the bus opens is counted: the commits the reports cost.
  commits = 0;
  const counted: Store = {
    ...store,
    transaction: (fn, after) => {
      commits += 1;
      return store.transaction(fn, after);
    },
  };
  bus = createEventBus({ store: counted, clock });
  events = [];
  bus.subscribe((event) => events.push(event));
  windows = [];
  status = createStatusRecorder({ store: counted, events: bus, clock, timers });
});

afterEach(async () => {
  await store.close();
});

const success = (version: string): ConfigStatusReport => ({
  version,
  state: "success",
  steps: [],
  errors: [],
  refused: [],
  durationMs: 3,
  manifest: [],
});

/** Lets every pending promise callback run (the writes are awaited through several). */
const drain = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

test("reports within one window are written together when it closes, in two commits at most", async () => {
  const subjects = agentIds.slice(0, 100);
  const written = subjects.map((agentId) =>
    status.recordReport({ agentId, workspaceId: "w1" }, success("sha256:v1")),
  );
  await drain();
  // Nothing is written before the window closes: one window for all of them.
  expect(windows.map((w) => w.ms)).toEqual([reportGatherMs]);
  expect(commits).toBe(0);
  expect((await store.configStatus.get("a000"))?.state).toBe("pending");

  windows[0]?.fire();
  expect(await Promise.all(written)).toEqual(subjects.map(() => true));
  // The group commit takes the first alone and the rest together.
  expect(commits).toBeLessThanOrEqual(2);
  const rows = await store.configStatus.getMany(subjects);
  expect(rows.every((row) => row.state === "success" && row.appliedVersion === "sha256:v1")).toBe(
    true,
  );
  const applied = events.filter((event) => event.type === "config.applied");
  expect(applied.map((event) => event.subjectId).sort()).toEqual(subjects);

  // The next report opens a new window.
  const late = status.recordReport({ agentId: "a100", workspaceId: "w1" }, success("sha256:v1"));
  await drain();
  expect(windows).toHaveLength(2);
  windows[1]?.fire();
  expect(await late).toBe(true);
});

test("a full window is written at once, without waiting for its timer", async () => {
  const written = agentIds
    .slice(0, 500)
    .map((agentId) => status.recordReport({ agentId, workspaceId: "w1" }, success("sha256:v1")));
  expect(await Promise.all(written)).toHaveLength(500);
  expect(windows[0]?.cancelled).toBe(true);
  expect(commits).toBeLessThanOrEqual(2);
  expect(events.filter((event) => event.type === "config.applied")).toHaveLength(500);
});

test("a report that cannot be written fails alone; a non-final one is written without events", async () => {
  const good = status.recordReport({ agentId: "a001", workspaceId: "w1" }, success("sha256:v1"));
  const progress = status.recordReport(
    { agentId: "a002", workspaceId: "w1" },
    { ...success("sha256:v1"), state: "applying" },
  );
  const unknown = status.recordReport({ agentId: "nobody", workspaceId: "w1" }, success("x"));
  await drain();
  windows[0]?.fire();
  expect(await good).toBe(true);
  expect(await progress).toBe(false);
  await expect(unknown).rejects.toMatchObject({ code: "not_found" });
  expect((await store.configStatus.get("a001"))?.state).toBe("success");
  expect((await store.configStatus.get("a002"))?.state).toBe("applying");
  expect(events.map((event) => `${event.type} ${event.subjectId}`)).toEqual([
    "config.applied a001",
  ]);
});

test("a report the store refuses fails alone: the rest of its window is written all the same", async () => {
  const good = ["a001", "a002", "a003"].map((agentId) =>
    status.recordReport({ agentId, workspaceId: "w1" }, success("sha256:v1")),
  );
  const refused = status.recordReport(
    { agentId: "a004", workspaceId: "w1" },
    { ...success("sha256:v1"), durationMs: -1 },
  );
  await drain();
  windows[0]?.fire();
  expect(await Promise.all(good)).toEqual([true, true, true]);
  await expect(refused).rejects.toMatchObject({ code: "invalid_argument" });
  expect((await store.configStatus.get("a004"))?.state).toBe("pending");
  expect(events.map((event) => `${event.type} ${event.subjectId}`).sort()).toEqual([
    "config.applied a001",
    "config.applied a002",
    "config.applied a003",
  ]);
});
