/**
 * Lease grants and extensions (issue 14), against etcd doing the same work in
 * the same run. `exporters` seed exporters are registered and kept online from
 * one child process (grpc-js Register + Status); each is labelled `slot=<i>`
 * by the admin REST API, so a request with selector `slot=<i>` matches exactly
 * one exporter and every grant is immediate. `clients` client processes with
 * `workers` workers each then run, against Drover and against etcd:
 * - cycles: grant (Drover: RequestLease then GetLease until Ready; etcd:
 *   LeaseGrant then a guarded Txn) and release (ReleaseLease; LeaseRevoke);
 * - extensions on held leases (REST extend by 1m; etcd keep-alive).
 * Only operations that start after a warm-up and end inside the window count.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DroverServer } from "../lib/server/index.ts";
import { findDefaultWorkspace } from "../lib/tenancy/index.ts";
import type { BackendTarget } from "./leases/backend.ts";
import type { ClientCommand, PhaseReport } from "./leases/client.ts";
import { type EtcdProcess, startEtcd } from "./leases/etcd.ts";
import { type HttpsJson, httpsJson } from "./leases/https-json.ts";
import type { SummaryRow } from "./registration.ts";
import { type LineChild, spawnLineChild } from "./scale/line-child.ts";
import { waitFor } from "./scale/server-handle.ts";
import {
  fmtMs,
  fmtRate,
  fmtRatio,
  now,
  percentile,
  perSecond,
  printTable,
  runPool,
} from "./table.ts";

export interface LeaseBenchOptions {
  exporters: number;
  clients: number;
  /** Workers per client process: each holds one request in flight. */
  workers: number;
  /** Each phase's measured window. */
  phaseMs: number;
}

const script = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const WARMUP_MS = 1_000;

/** One phase on one side, summed over the client processes. */
interface PhaseResult {
  ops: number;
  latencies: Record<string, number[]>;
  waited: number;
  /** Server CPU (user+system) per operation over the window, ms. */
  serverCpuMs: number;
}

/** The server's CPU time so far, ms: Drover's is this process; etcd's is read from /proc. */
type CpuClock = () => Promise<number>;

const droverCpu: CpuClock = async () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

function etcdCpu(pid: number): CpuClock {
  return async () => {
    const stat = await Bun.file(`/proc/${pid}/stat`).text();
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
  };
}

async function registerExporters(
  server: DroverServer,
  dataDir: string,
  workspaceId: string,
  count: number,
): Promise<{ ids: string[]; child: LineChild<{ ids: string[] }> }> {
  const caPem = server.fleet.deps.authority.ca.certificatePem;
  const tokens: string[] = [];
  for (let i = 0; i < count; i++)
    tokens.push((await server.fleet.createJoinToken({ role: "agent", workspaceId })).token);
  const cacheFile = join(dataDir, "bench-exporters.jsonl");
  // The scale bench's simulator registers agents for real (join token, CSR, Register) into a cache file.
  const registrar = await spawnLineChild(script("./scale/sim-process.ts"), [
    JSON.stringify({
      cacheFile,
      registrationAddress: server.endpoints.registration,
      caPem,
      localAddresses: [],
    }),
  ]);
  try {
    await registrar.request({ cmd: "register", tokens }, 120_000);
  } finally {
    await registrar.stop();
  }
  const child = await spawnLineChild<{ ids: string[] }>(
    script("./leases/exporters.ts"),
    [JSON.stringify({ cacheFile, agentAddress: server.endpoints.agent, caPem })],
    90_000,
  );
  return { ids: child.ready.ids, child };
}

/** Labels exporter i `slot=<i>` and waits until every one is online and Available. */
async function labelSlots(rest: HttpsJson, workspaceId: string, ids: string[]): Promise<void> {
  const labelled = await runPool(ids.length, 8, 60_000, async (index) => {
    await rest.call("PATCH", `/v1/agents/${ids[index]}`, { labels: { slot: String(index) } });
  });
  if (labelled.done < ids.length) throw new Error("labelling the exporters took over 60 s");
  await waitFor("every exporter online and Available", 60_000, async () => {
    let ready = 0;
    for (let page = 1; (page - 1) * 100 < ids.length; page++) {
      const { data } = (await rest.call(
        "GET",
        `/v1/workspaces/${workspaceId}/exporters?per_page=100&page=${page}`,
      )) as { data: Array<{ online: boolean; status: string; labels: Record<string, string> }> };
      ready += data.filter((e) => e.online && e.status === "Available" && e.labels.slot).length;
    }
    return ready === ids.length;
  });
}

async function runPhase(
  clients: LineChild<unknown>[],
  command: Extract<ClientCommand, { cmd: "run" }>,
  cpu: CpuClock,
): Promise<PhaseResult> {
  const replies = Promise.all(
    clients.map((client) => client.request<PhaseReport>(command, command.warmupMs + 60_000)),
  );
  // The server's CPU over the clients' window, sampled on the same schedule.
  const sampleAt = (ms: number) =>
    new Promise<number>((resolve) => setTimeout(() => resolve(cpu()), ms));
  const [cpuFrom, cpuTo] = await Promise.all([
    sampleAt(command.warmupMs),
    sampleAt(command.warmupMs + command.measureMs),
  ]);
  const reports = await replies;
  const failed = reports.find((report) => report.failures > 0);
  if (failed) throw new Error(`${command.phase} failed: ${failed.firstError}`);
  const ops = reports.reduce((sum, report) => sum + report.ops, 0);
  const latencies: Record<string, number[]> = {};
  for (const report of reports)
    for (const [kind, values] of Object.entries(report.latencies))
      latencies[kind] = [...(latencies[kind] ?? []), ...values];
  return {
    ops,
    latencies,
    waited: reports.reduce((sum, report) => sum + report.waited, 0),
    serverCpuMs: (cpuTo - cpuFrom) / ops,
  };
}

interface SideResults {
  cycle: PhaseResult;
  extend: PhaseResult;
}

async function runSide(
  clients: LineChild<unknown>[],
  target: BackendTarget,
  slots: number,
  options: LeaseBenchOptions,
  cpu: CpuClock,
): Promise<SideResults> {
  await Promise.all(
    clients.map((client, index) =>
      client.request({
        cmd: "setup",
        target,
        workers: options.workers,
        slots: Array.from({ length: slots }, (_, slot) => slot).filter(
          (slot) => slot % clients.length === index,
        ),
      }),
    ),
  );
  const run = { cmd: "run", warmupMs: WARMUP_MS, measureMs: options.phaseMs } as const;
  const cycle = await runPhase(clients, { ...run, phase: "cycle" }, cpu);
  await Promise.all(clients.map((client) => client.request({ cmd: "hold" })));
  const extend = await runPhase(clients, { ...run, phase: "extend" }, cpu);
  await Promise.all(clients.map((client) => client.request({ cmd: "drop" })));
  return { cycle, extend };
}

function rate(phase: PhaseResult, ms: number): number {
  return perSecond(phase.ops, ms);
}

function latencyCells(values: number[]): string[] {
  return [fmtMs(percentile(values, 50)), fmtMs(percentile(values, 99))];
}

export async function benchLeases(
  server: DroverServer,
  dataDir: string,
  options: LeaseBenchOptions,
): Promise<SummaryRow[]> {
  const caPem = server.fleet.deps.authority.ca.certificatePem;
  const operator = {
    caPem,
    certificatePem: await Bun.file(join(dataDir, "admin.pem")).text(),
    privateKeyPem: await Bun.file(join(dataDir, "admin.key")).text(),
  };
  const httpUrl = `https://${server.endpoints.http}`;
  const workspace = await findDefaultWorkspace(server.fleet.deps);
  if (!workspace) throw new Error("a fresh server has a default workspace");
  const setupStarted = now();
  const { ids, child: exporters } = await registerExporters(
    server,
    dataDir,
    workspace.id,
    options.exporters,
  );
  let etcd: EtcdProcess | undefined;
  const clients: LineChild<unknown>[] = [];
  try {
    await labelSlots(httpsJson(httpUrl, operator), workspace.id, ids);
    etcd = await startEtcd(server.fleet.deps.authority.ca);
    for (let i = 0; i < options.clients; i++)
      clients.push(await spawnLineChild(script("./leases/client.ts"), []));
    const setupMs = now() - setupStarted;
    const drover = await runSide(
      clients,
      { kind: "drover", operatorAddress: server.endpoints.operator, httpUrl, ...operator },
      ids.length,
      options,
      droverCpu,
    );
    const baseline = await runSide(
      clients,
      { kind: "etcd", url: etcd.url, caPem },
      ids.length,
      options,
      etcdCpu(etcd.pid),
    );
    return report(drover, baseline, { ...options, setupMs, etcdVersion: etcd.version });
  } finally {
    await Promise.all(clients.map((client) => client.stop()));
    await exporters.stop();
    await etcd?.stop();
  }
}

function report(
  drover: SideResults,
  etcd: SideResults,
  context: LeaseBenchOptions & { setupMs: number; etcdVersion: string },
): SummaryRow[] {
  const ms = context.phaseMs;
  const rows = (
    label: string,
    phase: keyof SideResults,
    kind: string,
  ): [string, string, string, string, string, string, string, string] => {
    const ours = drover[phase];
    const theirs = etcd[phase];
    return [
      label,
      fmtRate(rate(ours, ms)),
      ...latencyCells(ours.latencies[kind] ?? []),
      fmtRate(rate(theirs, ms)),
      ...latencyCells(theirs.latencies[kind] ?? []),
      fmtRatio(rate(ours, ms) / rate(theirs, ms)),
    ] as [string, string, string, string, string, string, string, string];
  };
  const cpu = (phase: keyof SideResults) =>
    `${fmtMs(drover[phase].serverCpuMs)} Drover, ${fmtMs(etcd[phase].serverCpuMs)} etcd`;
  const inFlight = context.clients * context.workers;
  const grant = rows("grant (request→Ready)", "cycle", "grant");
  const extend = rows("extend (+1m / keep-alive)", "extend", "extend");
  printTable({
    title: `Leases: ${context.exporters} exporters, ${context.clients} client processes × ${context.workers} workers (${inFlight} in flight), ${fmtMs(ms)} windows; etcd ${context.etcdVersion} on loopback`,
    headers: ["operation", "Drover", "p50", "p99", "etcd", "p50", "p99", "Drover/etcd"],
    rows: [grant, rows("release", "cycle", "release"), extend],
    notes: [
      "A cycle is one grant then one release of the same slot: grants/s and releases/s are the cycle rate.",
      "Drover grant: RequestLease + GetLease (Ready, fencing token) over gRPC; release: ReleaseLease; extend: REST POST /v1/leases/{name}/extend {by: 1m}. Operator certificate (mTLS).",
      "etcd grant: LeaseGrant + Txn (holder key create_revision == 0, put with the lease); release: LeaseRevoke; extend: LeaseKeepAlive. v3 JSON gateway over TLS.",
      `Server CPU per cycle: ${cpu("cycle")}; per extension: ${cpu("extend")} (Drover's includes the exporters' ReportStatus answers).`,
      `Drover grants not Ready at once (exporter still reporting Available): ${drover.cycle.waited} of ${drover.cycle.ops}.`,
      "Durability: etcd fsyncs its WAL before acknowledging a grant or revoke (a keep-alive writes nothing to disk); Drover's SQLite is WAL with synchronous=NORMAL (no fsync per commit: durable across a crash of the process, not of the machine).",
      `Setup (register ${context.exporters} exporters, label them, start etcd and the clients): ${fmtMs(context.setupMs)}.`,
    ],
  });
  return [
    {
      metric: "lease grants/s (request→Ready)",
      value: `${grant[1]}, p99 ${grant[3]}`,
      baseline: `etcd grant+txn ${grant[4]}, p99 ${grant[6]}`,
      ratio: grant[7],
    },
    {
      metric: "lease extensions/s",
      value: `${extend[1]}, p99 ${extend[3]}`,
      baseline: `etcd keep-alive ${extend[4]}, p99 ${extend[6]}`,
      ratio: extend[7],
    },
  ];
}
