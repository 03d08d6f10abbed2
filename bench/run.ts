import "reflect-metadata";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type DroverServer,
  type DroverServerOptions,
  startDroverServer,
} from "../lib/server/index.ts";
import { benchAgentCalls } from "./agent-calls.ts";
import { benchAgentMemory } from "./agent-memory.ts";
import { benchConfigFanout } from "./config-fanout.ts";
import { benchEventFanout } from "./event-fanout.ts";
import { benchHealthStream } from "./health-stream.ts";
import { benchHeartbeats } from "./heartbeats.ts";
import { benchLeases } from "./leases.ts";
import { benchNginxCompile } from "./nginx-compile.ts";
import { benchRegistration, type SummaryRow } from "./registration.ts";
import { benchRestList } from "./rest-list.ts";
import { benchScale, scaleBudgetMs } from "./scale/scale.ts";
import { fmtMs, intArg, now, printTable, within } from "./table.ts";

/**
 * Drover benchmarks: `npx bun bench/run.ts [--registrations N] [--registration-clients K]
 * [--registration-concurrency C] [--reports M] [--agents N]
 * [--list-requests N] [--subscribers N] [--events M] [--nginx-hosts N] [--fanout-agents N]
 * [--fanout-changes M] [--fanout-direct] [--session-calls N] [--heartbeat-agents N] [--scale-max N]
 * [--lease-exporters N] [--lease-clients K] [--lease-workers W] [--lease-window-ms MS] [--only SECTION]`.
 * `--only` runs one section: its file's name in bench/, e.g. `--only agent-calls`.
 * `--fanout-direct` opens the fan-out's simulated agents on the server's delivery without
 * sockets (automatic above 8,000 agents, which would pass the descriptor limit).
 * `--scale-max` bounds the scale section (default 5,000 agents, a few minutes); the
 * full run to the descriptor limit is `--only scale --scale-max 25000`.
 * The leases section needs etcd from Debian (scripts/setup-bench-system.sh).
 * Every figure is compared with a baseline measured in the same run, on the
 * same machine, so ratios stay meaningful on noisy hardware.
 */

const argv = process.argv.slice(2);
const options = {
  registrations: intArg(argv, "registrations", 1000),
  registrationClients: intArg(argv, "registration-clients", 2),
  registrationConcurrency: intArg(argv, "registration-concurrency", 16),
  reports: intArg(argv, "reports", 20_000),
  agents: intArg(argv, "agents", 200),
  listRequests: intArg(argv, "list-requests", 200),
  subscribers: intArg(argv, "subscribers", 1000),
  events: intArg(argv, "events", 20),
  nginxHosts: intArg(argv, "nginx-hosts", 10_000),
  fanoutAgents: intArg(argv, "fanout-agents", 1000),
  fanoutChanges: intArg(argv, "fanout-changes", 5),
  sessionCalls: intArg(argv, "session-calls", 2000),
  heartbeatAgents: intArg(argv, "heartbeat-agents", 25_000),
  scaleMax: intArg(argv, "scale-max", 5000),
  leaseExporters: intArg(argv, "lease-exporters", 200),
  leaseClients: intArg(argv, "lease-clients", 2),
  leaseWorkers: intArg(argv, "lease-workers", 8),
  leaseWindowMs: intArg(argv, "lease-window-ms", 4000),
};
const sections = [
  "registration",
  "health-stream",
  "heartbeats",
  "agent-memory",
  "rest-list",
  "event-fanout",
  "config-fanout",
  "agent-calls",
  "leases",
  "nginx-compile",
  "scale",
] as const;
const only = argv.includes("--only") ? (argv[argv.indexOf("--only") + 1] ?? "") : undefined;
if (only !== undefined && !sections.some((name) => name === only))
  throw new Error(`--only takes one of: ${sections.join(", ")}`);
const runs = (section: (typeof sections)[number]): boolean =>
  only === undefined || only === section;
// The scale section brings its own budget: it grows with --scale-max.
const wholeRunBudgetMs = 200_000 + (runs("scale") ? scaleBudgetMs(options.scaleMax) : 0);

/** A fresh server on 127.0.0.1 with ephemeral ports and a temp data dir, always stopped. */
async function withServer<T>(
  fn: (server: DroverServer, dataDir: string) => Promise<T>,
  extra: Partial<DroverServerOptions> = {},
): Promise<T> {
  const dataDir = await mkdtemp(join(tmpdir(), "drover-bench-"));
  let server: DroverServer | undefined;
  try {
    server = await startDroverServer({
      dataDir,
      registrationAddress: "127.0.0.1:0",
      agentAddress: "127.0.0.1:0",
      operatorAddress: "127.0.0.1:0",
      httpAddress: "127.0.0.1:0",
      ...extra,
    });
    return await fn(server, dataDir);
  } finally {
    if (server) await within(15_000, "stopping the server", server.stop());
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = now();
  console.log(
    `Drover benchmarks (Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores): ` +
      `registrations=${options.registrations} reports=${options.reports} agents=${options.agents} ` +
      `list-requests=${options.listRequests} subscribers=${options.subscribers} events=${options.events} ` +
      `nginx-hosts=${options.nginxHosts} fanout-agents=${options.fanoutAgents} fanout-changes=${options.fanoutChanges} ` +
      `session-calls=${options.sessionCalls} heartbeat-agents=${options.heartbeatAgents} scale-max=${options.scaleMax}`,
  );
  const summary: SummaryRow[] = [];
  if (runs("registration"))
    summary.push(
      ...(await withServer(
        (server) =>
          benchRegistration(server, options.registrations, {
            clients: options.registrationClients,
            concurrency: options.registrationConcurrency,
          }),
        // Every client process dials from loopback: lift the per-address cap (32) for them.
        { listenerLimits: { registration: { connectionsPerAddress: 1_024 } } },
      )),
    );
  if (runs("health-stream"))
    summary.push(
      ...(await withServer((server, dataDir) =>
        benchHealthStream(server, dataDir, options.reports),
      )),
    );
  if (runs("heartbeats"))
    summary.push(
      ...(await withServer((server) => benchHeartbeats(server, options.heartbeatAgents))),
    );
  if (runs("agent-memory"))
    summary.push(...(await withServer((server) => benchAgentMemory(server, options.agents))));
  if (runs("rest-list"))
    summary.push(
      ...(await withServer(
        (server, dataDir) => benchRestList(server, dataDir, options.listRequests),
        // The default 1000 requests/min per user would throttle larger --list-requests.
        { rateLimitPerMinute: 1_000_000 },
      )),
    );
  if (runs("event-fanout"))
    summary.push(
      ...(await withServer((server) =>
        benchEventFanout(server, options.subscribers, options.events),
      )),
    );
  if (runs("config-fanout"))
    summary.push(
      ...(await withServer((server) =>
        benchConfigFanout(
          server,
          options.fanoutAgents,
          options.fanoutChanges,
          ...(argv.includes("--fanout-direct") ? (["direct"] as const) : []),
        ),
      )),
    );
  if (runs("agent-calls"))
    summary.push(
      ...(await withServer((server, dataDir) =>
        benchAgentCalls(server, dataDir, options.sessionCalls),
      )),
    );
  if (runs("leases"))
    summary.push(
      ...(await withServer(
        (server, dataDir) =>
          benchLeases(server, dataDir, {
            exporters: options.leaseExporters,
            clients: options.leaseClients,
            workers: options.leaseWorkers,
            phaseMs: options.leaseWindowMs,
          }),
        // The extensions go over REST: the default 1000 requests/min per principal would throttle them.
        { rateLimitPerMinute: 1_000_000_000 },
      )),
    );
  // A pure function: it needs no server.
  if (runs("nginx-compile")) summary.push(...(await benchNginxCompile(options.nginxHosts)));
  // Its own server: the reconnect storm restarts it.
  if (runs("scale")) summary.push(...(await benchScale(options.scaleMax)));

  printTable({
    title: "Summary",
    headers: ["metric", "value", "baseline (same run)", "ratio"],
    rows: summary.map((row) => [row.metric, row.value, row.baseline, row.ratio]),
    notes: [`Whole run took ${fmtMs(now() - started)}.`],
  });
}

// Nothing may keep the run alive past its budget, whatever hangs.
const watchdog = setTimeout(() => {
  console.error(`benchmark run exceeded ${wholeRunBudgetMs / 1000} s; aborting`);
  process.exit(2);
}, wholeRunBudgetMs);
watchdog.unref();

try {
  await main();
  process.exit(0);
} catch (error) {
  console.error("benchmark failed:", error);
  process.exit(1);
}
