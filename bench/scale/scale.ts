/**
 * The `scale` section (issue 13): LEAN simulated agents in other processes
 * (real registrations, real mTLS HTTP/2 Session streams, the real agent
 * protocol) held against the Drover server in this process, stepping 1,000 →
 * 5,000 → 10,000 → … as far as `--scale-max` and the descriptor limit allow;
 * each step against a bare node:http2 mTLS server holding the same
 * connections. Then, at the largest step, a call round trip to 1,000 agents at
 * once and a reconnect storm (server restart).
 */
import "reflect-metadata";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { operatorPrincipal } from "../../lib/auth/index.ts";
import { type DroverServer, serverPaths } from "../../lib/server/index.ts";
import type { SummaryRow } from "../registration.ts";
import {
  fmtBytes,
  fmtMs,
  fmtNumber,
  fmtRate,
  fmtRatio,
  now,
  pause,
  percentile,
  perSecond,
  printTable,
} from "../table.ts";
import type { BareServerConfig, BareServerStats } from "./bare-server.ts";
import {
  configChangeRound,
  createFanoutWorkspace,
  type FanoutResult,
  fanoutSummary,
  printFanouts,
} from "./fanout.ts";
import { spawnLineChild } from "./line-child.ts";
import { connectedCount, type ServerHandle, startServer, waitFor } from "./server-handle.ts";
import { agentsPerProcess, type SimFleet, startSimFleet } from "./sim-fleet.ts";
import { failedAttempts, reconnectStorm, stormRows } from "./storm.ts";

export const heartbeatIntervalMs = 10_000;
/** Two heartbeat rounds and a little: every agent reports at least twice. */
const steadyWindowMs = 22_000;
/** Descriptors the server process keeps for itself: database, listeners, pipes to the children. */
const descriptorHeadroom = 500;
const callFanout = 1_000;
const stepSizes = [1_000, 5_000, 10_000, 25_000];

/** The soft descriptor limit this process (and so the server) runs under. */
export function descriptorLimit(): number {
  const out = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).stdout.trim();
  const limit = Number(out);
  return Number.isInteger(limit) && limit > 0 ? limit : 1024;
}

/** The steps for `max` agents: 1k, 5k, 10k, … below it, then `max`. */
export function scaleSteps(max: number): number[] {
  return [...stepSizes.filter((size) => size < max), max];
}

/** A generous bound on the section's run time for `max` agents (registration and admission are the slow parts). */
export function scaleBudgetMs(max: number): number {
  return 300_000 + max * 80;
}

function settledRss(): number {
  Bun.gc(true);
  return process.memoryUsage.rss();
}

/** Every agent's last heartbeat: the server's receipt time minus the agent's send time. */
async function heartbeatLatencies(server: DroverServer, since: number): Promise<number[]> {
  const latencies: number[] = [];
  let afterId: string | undefined;
  for (;;) {
    const page = await server.fleet.deps.store.agents.list({
      limit: 1_000,
      ...(afterId ? { afterId } : {}),
    });
    for (const row of page) {
      const observedAt = (row.lastHealth as { observedAt?: unknown } | null)?.observedAt;
      const seenAt = row.lastSeenAt?.getTime();
      if (typeof observedAt !== "string" || seenAt === undefined || seenAt < since) continue;
      latencies.push(seenAt - Date.parse(observedAt));
    }
    if (page.length < 1_000) return latencies;
    afterId = page[page.length - 1]?.id;
  }
}

interface StepResult {
  agents: number;
  registered: number;
  registerMs: number;
  connectMs: number;
  rssPerAgent: number;
  heartbeatP50: number;
  heartbeatP99: number;
  heartbeatSamples: number;
  lagP99: number;
  cpuPercent: number;
  heartbeatsPerSecond: number;
}

interface BareResult {
  rssPerConnection: number;
  connectMs: number;
}

/**
 * The same agents against the bare server, extended step by step as on the
 * Drover server: its RSS per connection at each step.
 */
async function bareBaseline(
  sims: SimFleet,
  dataDir: string,
  caPem: string,
  steps: readonly number[],
): Promise<BareResult[]> {
  const paths = serverPaths(dataDir);
  const config: BareServerConfig = {
    certificatePem: await readFile(paths.serverCertificate, "utf8"),
    privateKeyPem: await readFile(paths.serverKey, "utf8"),
    caPem,
    host: "127.0.0.1",
  };
  const bare = await spawnLineChild<{ port: number; idleRss: number }>(
    join(import.meta.dir, "bare-server.ts"),
    [JSON.stringify(config)],
  );
  const results: BareResult[] = [];
  try {
    for (const count of steps) {
      const started = now();
      await sims.connect(`127.0.0.1:${bare.ready.port}`, count, {
        heartbeatMs: heartbeatIntervalMs,
        welcome: false,
      });
      await waitFor(`${count} streams on the bare server`, 300_000, async () => {
        return (await bare.request<BareServerStats>({ cmd: "stats" })).streams >= count;
      });
      const connectMs = now() - started;
      // Every connection has sent a heartbeat, as on the Drover server.
      await pause(heartbeatIntervalMs + 1_000);
      const stats = await bare.request<BareServerStats>({ cmd: "stats" });
      results.push({ rssPerConnection: (stats.rss - bare.ready.idleRss) / count, connectMs });
    }
    return results;
  } finally {
    await sims.disconnect();
    await bare.stop();
  }
}

/** Registers what is missing, extends the connected agents to `count`, then measures a steady window. */
async function measureStep(
  handle: ServerHandle,
  sims: SimFleet,
  idleRss: number,
  count: number,
): Promise<StepResult> {
  const server = handle.current();
  const registerStarted = now();
  const registered = await sims.register(server, count);
  const registerMs = now() - registerStarted;
  const ids = sims.ids();
  const connectStarted = now();
  await sims.connect(server.endpoints.agent, count, {
    heartbeatMs: heartbeatIntervalMs,
    welcome: true,
  });
  const connectMs = await waitFor(
    `${count} agents connected`,
    600_000,
    () => connectedCount(server, ids) >= count,
  ).then(() => now() - connectStarted);

  const before = await sims.stats();
  const windowStarted = Date.now();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const cpuBefore = process.cpuUsage();
  const wallBefore = now();
  await pause(steadyWindowMs);
  const cpu = process.cpuUsage(cpuBefore);
  const wallMs = now() - wallBefore;
  lag.disable();
  const after = await sims.stats();
  const rss = settledRss();
  const latencies = await heartbeatLatencies(server, windowStarted);
  return {
    agents: count,
    registered,
    registerMs,
    connectMs,
    rssPerAgent: (rss - idleRss) / count,
    heartbeatP50: percentile(latencies, 50),
    heartbeatP99: percentile(latencies, 99),
    heartbeatSamples: latencies.length,
    lagP99: lag.percentile(99) / 1e6,
    cpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    heartbeatsPerSecond: perSecond(after.counters.heartbeats - before.counters.heartbeats, wallMs),
  };
}

/** `healthCheck` to `count` connected agents at once, each call timed. */
async function callRoundTrip(server: DroverServer, ids: readonly string[], count: number) {
  const principal = operatorPrincipal("bench");
  const targets = ids.filter((id) => server.delivery.connected(id)).slice(0, count);
  const latencies: number[] = [];
  const started = now();
  await Promise.all(
    targets.map(async (id) => {
      const callStarted = now();
      const status = await server.node.healthCheck(principal, id);
      if (status.status !== "OK") throw new Error(`agent ${id} answered ${status.status}`);
      latencies.push(now() - callStarted);
    }),
  );
  return {
    calls: targets.length,
    totalMs: now() - started,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/**
 * The section: a server of its own in this process (the storm restarts it),
 * simulator processes and a temp dir for both, all removed at the end.
 */
export async function benchScale(requested: number): Promise<SummaryRow[]> {
  const root = await mkdtemp(join(tmpdir(), "drover-bench-scale-"));
  const dataDir = join(root, "server");
  const workDir = join(root, "simulators");
  await mkdir(workDir);
  let handle: ServerHandle | undefined;
  try {
    handle = await startServer(dataDir, heartbeatIntervalMs);
    return await runSteps(handle, dataDir, workDir, requested);
  } finally {
    await handle?.stop();
    await rm(root, { recursive: true, force: true });
  }
}

async function runSteps(
  handle: ServerHandle,
  dataDir: string,
  workDir: string,
  requested: number,
): Promise<SummaryRow[]> {
  const limit = descriptorLimit();
  const allowed = limit - descriptorHeadroom;
  const max = Math.min(requested, allowed);
  const stopReason =
    max < requested
      ? `stopped at ${fmtNumber(max)} of the ${fmtNumber(requested)} asked: the descriptor limit is ${limit} (ulimit -n, soft = hard here) and the server keeps ${descriptorHeadroom} for itself`
      : `stopped at --scale-max ${fmtNumber(max)} (the descriptor limit ${limit} would allow ${fmtNumber(allowed)})`;
  const caPem = handle.current().fleet.deps.authority.ca.certificatePem;
  const idleRss = settledRss();
  const workspaceId = await createFanoutWorkspace(handle.current());
  const sims = await startSimFleet({
    processes: Math.ceil(max / agentsPerProcess),
    workDir,
    registrationAddress: handle.current().endpoints.registration,
    caPem,
    workspaceId,
  });
  const results: StepResult[] = [];
  const fanouts: FanoutResult[] = [];
  try {
    const steps = scaleSteps(max);
    // The connected agents stay: each step adds the difference.
    for (const count of steps) {
      const result = await measureStep(handle, sims, idleRss, count);
      results.push(result);
      // A long run that dies later still leaves what it measured.
      console.log(`scale step: ${JSON.stringify(result)}`);
      const fanout = await configChangeRound(handle.current(), workspaceId, sims.ids(), count);
      fanouts.push(fanout);
      console.log(`scale fan-out: ${JSON.stringify(fanout)}`);
    }
    const ids = sims.ids();
    const calls = await callRoundTrip(handle.current(), ids, callFanout);

    const storm = await reconnectStorm(handle, sims, ids);
    console.log(`scale storm: ${JSON.stringify(storm)}`);

    await sims.disconnect();
    await waitFor(
      "every agent disconnected",
      60_000,
      () => connectedCount(handle.current(), ids) === 0,
    );
    const bare = await bareBaseline(sims, dataDir, caPem, steps);
    const bareOf = (index: number) => bare[index] as BareResult;

    const top = results[results.length - 1] as StepResult;
    const topBare = bareOf(results.length - 1);
    printTable({
      title: `Scale: agents in other processes (${Math.ceil(max / agentsPerProcess)} simulator processes, real registrations and mTLS sessions, heartbeats every ${heartbeatIntervalMs / 1000} s)`,
      headers: [
        "agents",
        "agents added, connected in",
        "server RSS/agent",
        "bare RSS/conn",
        "ratio",
        "heartbeat p50",
        "heartbeat p99",
        "loop lag p99",
        "server CPU",
        "heartbeats/s",
      ],
      rows: results.map((r, index) => [
        fmtNumber(r.agents),
        `+${fmtNumber(r.agents - (results[index - 1]?.agents ?? 0))} in ${fmtMs(r.connectMs)}`,
        fmtBytes(r.rssPerAgent),
        fmtBytes(bareOf(index).rssPerConnection),
        fmtRatio(r.rssPerAgent / bareOf(index).rssPerConnection),
        fmtMs(r.heartbeatP50),
        fmtMs(r.heartbeatP99),
        fmtMs(r.lagP99),
        `${r.cpuPercent.toFixed(0)}%`,
        fmtNumber(r.heartbeatsPerSecond),
      ]),
      notes: [
        `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), ${fmtBytes(totalmem())}, Bun ${Bun.version}; ${stopReason}.`,
        `Server RSS/agent: the bench process's RSS after a full GC with N agents connected, minus its RSS at the section's start (idle server, no agents: ${fmtBytes(idleRss)}), over N; it includes the agents' rows in SQLite's cache. Bare RSS/conn: the same for a bare node:http2 mTLS server in its own process that discards the same agents' frames.`,
        `Heartbeat latency: every agent's last report, the server's last_seen_at minus the report's observed_at (stamped by the simulator as it sends; same clock), over ${fmtNumber(top.heartbeatSamples)} agents at the last step (both stamps have 1 ms resolution); loop lag and CPU over a ${steadyWindowMs / 1000} s steady window.`,
        `Registrations (real Register RPCs from the simulator processes, 8 in flight each): ${results.map((r) => `${fmtNumber(r.registered)} in ${fmtMs(r.registerMs)} (${fmtRate(perSecond(r.registered, r.registerMs))})`).join("; ")}. Each step keeps the agents already connected and adds the difference, first attempts paced 64 at a time per process; the same steps on the bare server (after the Drover steps, the storm and the calls): ${bare.map((b) => fmtMs(b.connectMs)).join(", ")}.`,
      ],
    });
    printFanouts(fanouts);
    printTable({
      title: `Scale: calls and a reconnect storm at ${fmtNumber(max)} agents`,
      headers: ["measurement", "value"],
      rows: [
        [
          `node.health_check to ${fmtNumber(calls.calls)} agents at once, p50 / p99`,
          `${fmtMs(calls.p50)} / ${fmtMs(calls.p99)}`,
        ],
        [
          `node.health_check to ${fmtNumber(calls.calls)} agents at once, all answered`,
          fmtMs(calls.totalMs),
        ],
        ...stormRows(storm),
      ],
      notes: [
        "The simulators reconnect as the agent does (lib/agent/backoff.ts); the restart takes the same data dir and ports.",
      ],
    });
    return [
      {
        metric: `server RSS per connected agent at ${fmtNumber(max)} agents (other processes)`,
        value: fmtBytes(top.rssPerAgent),
        baseline: `bare node:http2 mTLS ${fmtBytes(topBare.rssPerConnection)}`,
        ratio: fmtRatio(top.rssPerAgent / topBare.rssPerConnection),
      },
      {
        metric: `heartbeat p99 at ${fmtNumber(max)} agents`,
        value: fmtMs(top.heartbeatP99),
        baseline: `loop lag p99 ${fmtMs(top.lagP99)}`,
        ratio: "",
      },
      fanoutSummary(fanouts[fanouts.length - 1] as FanoutResult),
      {
        metric: `reconnect storm: ${fmtNumber(max)} agents back after a restart`,
        value: fmtMs(storm.backMs.all),
        baseline: `${fmtNumber(failedAttempts(storm))} of ${fmtNumber(storm.attempts)} attempts failed`,
        ratio: "",
      },
      {
        metric: `node.health_check to ${fmtNumber(calls.calls)} agents at once, p99`,
        value: fmtMs(calls.p99),
        baseline: `all in ${fmtMs(calls.totalMs)}`,
        ratio: "",
      },
    ];
  } finally {
    await sims.stop();
  }
}
