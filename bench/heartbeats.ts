import type { AgentHealth, HealthStream } from "../lib/fleet/index.ts";
import { newId } from "../lib/ids/index.ts";
import type { DroverServer } from "../lib/server/index.ts";
import type { NewAgent, Store } from "../lib/store/index.ts";
import { startHeartbeatLoad } from "./heartbeat-load.ts";
import type { SummaryRow } from "./registration.ts";
import { fmtMs, fmtNumber, fmtRate, now, pause, printTable } from "./table.ts";

/** A realistic report, built once: the benches measure the server's heartbeat path, not a sampler. */
export function sampleHealth(): AgentHealth {
  return {
    observedAt: new Date().toISOString(),
    cpuPercent: 12.5,
    memoryUsedBytes: 2_147_483_648,
    memoryTotalBytes: 8_589_934_592,
    diskUsedBytes: 40_000_000_000,
    diskTotalBytes: 100_000_000_000,
    loadAverage: [0.5, 0.4, 0.3],
    uptimeSeconds: 86_400,
    version: "bench",
    configHash: "",
    checks: [
      { name: "memory", ok: true, message: "25% used" },
      { name: "disk", ok: true, message: "40% used" },
    ],
  };
}

/** `count` offline agents straight into the store, 1,000 per transaction (untimed). */
async function seedAgents(store: Store, at: Date, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 1000) {
    await store.transaction(async (tx) => {
      for (let i = start; i < Math.min(count, start + 1000); i++) {
        const row: NewAgent = {
          id: newId("ag"),
          name: `hb-${i}`,
          hostname: `hb-${i}.example`,
          ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          version: "bench",
          labels: { rack: `r${i % 37}` },
          capabilities: [],
          state: "offline",
          createdAt: at,
          updatedAt: at,
        };
        ids.push((await tx.agents.insert(row)).id);
      }
    });
  }
  return ids;
}

/**
 * Counts SQLite commits by wrapping the store's write entry points in place
 * (the fleet holds this same object): a transaction is one commit, and so is
 * each write the repositories make outside one (an autocommit statement).
 */
function countCommits(store: Store): { readonly commits: number } {
  const counter = { commits: 0 };
  const transaction = store.transaction.bind(store);
  store.transaction = (fn, afterCommit) =>
    transaction(fn, afterCommit).finally(() => {
      counter.commits += 1;
    });
  const agents = store.agents as unknown as Record<
    string,
    (...args: unknown[]) => Promise<unknown>
  >;
  for (const name of [
    "updateHealth",
    "setState",
    "markOnline",
    "markStaleOffline",
    "writeHeartbeats",
  ]) {
    const write = agents[name];
    if (write === undefined) continue;
    agents[name] = (...args) =>
      write(...args).finally(() => {
        counter.commits += 1;
      });
  }
  return counter;
}

/**
 * The heartbeat path in the server process: `agents` open health streams,
 * each reporting every `agents / rate` seconds, for `seconds`. The time of a
 * report is from record() to its promise resolving.
 */
export async function benchHeartbeats(
  server: DroverServer,
  agents: number,
  seconds = 20,
  heartbeatSeconds = 10,
): Promise<SummaryRow[]> {
  const { store, clock } = server.fleet.deps;
  const ids = await seedAgents(store, clock.now(), agents);
  const streams: HealthStream[] = [];
  const opening = now();
  for (const id of ids) streams.push(await server.fleet.openHealthStream(id));
  const openMs = now() - opening;
  const health = sampleHealth();
  const rate = agents / heartbeatSeconds;

  const counter = countCommits(store);
  const commitsBefore = counter.commits;
  const load = startHeartbeatLoad(streams, rate, health);
  await pause(seconds * 1000);
  const { recorded, failed, wallMs, p50, p99, lagP99, lagMax, cpuPercent } = await load.stop();
  const commitsPerSecond = ((counter.commits - commitsBefore) / wallMs) * 1000;

  const closing = now();
  await server.fleet.stopHealthIntake();
  const stopMs = now() - closing;
  const sample = await store.agents.get(ids[0] as string);
  if (sample?.lastHealth?.cpuPercent !== health.cpuPercent)
    throw new Error("the reports never reached the store");

  printTable({
    title: `Heartbeats: ${fmtNumber(agents)} agents every ${heartbeatSeconds} s (${fmtNumber(rate)} reports/s) for ${seconds} s, in the server process`,
    headers: ["figure", "value"],
    rows: [
      ["reports recorded", `${fmtNumber(recorded)} (${failed} failed) in ${fmtMs(wallMs)}`],
      ["record() p50 / p99", `${fmtMs(p50)} / ${fmtMs(p99)}`],
      ["event-loop lag p99 / max", `${fmtMs(lagP99)} / ${fmtMs(lagMax)}`],
      ["commits/s", fmtRate(commitsPerSecond)],
      ["CPU (server process)", `${cpuPercent.toFixed(0)} %`],
      ["opening the streams (untimed above)", fmtMs(openMs)],
      ["stopHealthIntake (flush + all offline)", fmtMs(stopMs)],
    ],
    notes: [
      "record() is timed from the call to its promise resolving; reports are sent from a 10 ms tick.",
      "Commits are counted by wrapping the store's write entry points (transactions and autocommit writes).",
    ],
  });
  return [
    {
      metric: `heartbeat record() p99, ${fmtNumber(agents)} agents`,
      value: fmtMs(p99),
      baseline: `lag p99 ${fmtMs(lagP99)}`,
      ratio: `${fmtRate(commitsPerSecond)} commits/s, CPU ${cpuPercent.toFixed(0)} %`,
    },
  ];
}
