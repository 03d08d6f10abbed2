// Issue 13, reconnect storm: the server's stop marks every connected agent offline in one transaction, one event each, and drops reports that arrive meanwhile.

import { afterEach, beforeEach, expect, test } from "bun:test";
import { insertAgents } from "../../test/support/agent-rows.ts";
import { healthReport } from "../../test/support/health-report.ts";
import { manualClock } from "../../test/support/in-process.ts";
import { isDroverError } from "../errors/index.ts";
import { createEventBus } from "../events/index.ts";
import { openStore, type Store } from "../store/index.ts";
import type { FleetAuthority } from "./authority.ts";
import { createFleet, type Fleet } from "./fleet.ts";
import type { HealthStream } from "./health-stream.ts";

const agents = 300;
const ids = Array.from({ length: agents }, (_, i) => `agent-${String(i).padStart(3, "0")}`);
let store: Store;
let clock: ReturnType<typeof manualClock>;
let fleet: Fleet;
let streams: HealthStream[];

beforeEach(async () => {
  store = await openStore({ path: ":memory:" });
  clock = manualClock(Date.UTC(2026, 0, 1));
  fleet = createFleet({
    store,
    events: createEventBus({ store, clock }),
    // Health streams never issue certificates: no authority is needed here.
    authority: {} as FleetAuthority,
    clock,
    settings: { heartbeatIntervalMs: 10_000, certificateLifetimeMs: 86_400_000 },
  });
  await insertAgents(store, ids, clock.now());
  // Connected at once, as after a storm: their connections share commits.
  streams = await Promise.all(ids.map((id) => fleet.openHealthStream(id)));
});

afterEach(async () => {
  await store.close();
});

/** Counts the store's transactions and the agent writes made outside one. */
function countWrites(): { transactions: number; outside: number } {
  const counter = { transactions: 0, outside: 0 };
  const transaction = store.transaction.bind(store);
  store.transaction = (fn, afterCommit) => {
    counter.transactions += 1;
    return transaction(fn, afterCommit);
  };
  const repository = store.agents as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ["setState", "markOnline", "markStaleOffline", "writeHeartbeats"]) {
    const write = repository[name] as (...args: unknown[]) => unknown;
    repository[name] = (...args) => {
      counter.outside += 1;
      return write(...args);
    };
  }
  return counter;
}

test("stopping with 300 agents connected: one transaction, every agent offline with its own server_shutdown event and its last report", async () => {
  // Half the agents reported and are not flushed yet: their reports go with the stop.
  for (const [index, stream] of streams.entries())
    if (index % 2 === 0) await stream.record(healthReport(clock.now(), index % 100));
  const seqBefore = await store.events.latestSeq();
  const writes = countWrites();

  await fleet.stopHealthIntake();

  expect(writes).toEqual({ transactions: 1, outside: 0 });
  const rows = await store.agents.list({ limit: 1_000 });
  expect(rows.map((row) => row.state)).toEqual(ids.map(() => "offline"));
  for (const [index, row] of rows.entries())
    expect(row.lastHealth?.cpuPercent).toBe(index % 2 === 0 ? index % 100 : undefined);
  const events = await store.events.listSince(seqBefore, 1_000);
  expect(events.map((event) => event.type)).toEqual(ids.map(() => "agent.disconnected"));
  expect(events.map((event) => event.subjectId).sort()).toEqual(ids);
  expect(
    events.every((event) => (event.data as { reason: string }).reason === "server_shutdown"),
  ).toBe(true);

  // The listeners close next: each session's end writes nothing more.
  await Promise.all(streams.map((stream) => stream.close()));
  expect(writes).toEqual({ transactions: 1, outside: 0 });
  expect(await store.events.latestSeq()).toBe(seqBefore + agents);
});

test("while stopping, a report is dropped without ending its session, and a new session is refused", async () => {
  await fleet.stopHealthIntake();
  const seq = await store.events.latestSeq();
  const writes = countWrites();

  // Resolves: an error here would end the agent's session and send it reconnecting.
  await streams[0]?.record(healthReport(clock.now(), 55));
  expect(await fleet.flushHeartbeats()).toBe(0);
  expect((await store.agents.get(ids[0] as string))?.state).toBe("offline");

  const refused = await fleet.openHealthStream(ids[1] as string).catch((error: unknown) => error);
  expect(isDroverError(refused) && refused.code).toBe("unavailable");
  expect(writes).toEqual({ transactions: 0, outside: 0 });
  expect(await store.events.latestSeq()).toBe(seq);
});
