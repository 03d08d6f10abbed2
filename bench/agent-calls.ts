import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { operatorPrincipal } from "../lib/auth/index.ts";
import { operatorClientFromDataDir } from "../lib/client/index.ts";
import { NodeAgent } from "../lib/gen/drover/node/v1/node_pb.ts";
import { type DroverServer, serverPaths } from "../lib/server/index.ts";
import { grpcTransport } from "../lib/transport/index.ts";
import type { SummaryRow } from "./registration.ts";
import {
  fmtMs,
  fmtNumber,
  fmtRate,
  fmtRatio,
  median,
  now,
  pause,
  percentile,
  perSecond,
  printTable,
  runPool,
  within,
} from "./table.ts";

const principal = operatorPrincipal("bench");
const agentScript = join(import.meta.dir, "agent-process.ts");
/** StreamLogs' largest backlog (lib/agent/node/logs.ts). */
const logLines = 10_000;
/**
 * The node functions' per-agent bucket for commands and GPIO holds 20 calls
 * (refilled at 2/s): a longer run would measure the rate limit, not the call.
 */
const commandCalls = 20;
const streamRounds = 3;
/** Each unary measurement stops starting calls after this long. */
const unaryBudgetMs = 2_000;
const inFlightLevels = [1, 16] as const;

interface Measured {
  calls: number;
  ms: number;
  latencies: number[];
}

/** Up to `count` calls with `inFlight` at a time (within the budget), each call's latency kept. */
async function measure(
  count: number,
  inFlight: number,
  budgetMs: number,
  call: () => Promise<unknown>,
): Promise<Measured> {
  const latencies: number[] = [];
  const result = await runPool(count, inFlight, budgetMs, async () => {
    const started = now();
    await call();
    latencies.push(now() - started);
  });
  return { calls: result.done, ms: result.ms, latencies };
}

/** The agent in its own process, joined and announced; rejects if it exits first. */
async function startAgentProcess(
  server: DroverServer,
  workDir: string,
  configFile: string,
): Promise<{ child: ChildProcess; agentId: string }> {
  const { token } = await server.fleet.createJoinToken({ role: "agent" });
  const child = spawn(
    process.execPath,
    [agentScript, join(workDir, "agent"), server.endpoints.registration, configFile],
    {
      // stdin stays open: the agent stops when it closes, i.e. when this process dies.
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, DROVER_BENCH_JOIN_TOKEN: token },
    },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  const ready = new Promise<string>((resolve, reject) => {
    let stdout = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      stdout += chunk;
      const match = /^ready (\S+)$/m.exec(stdout);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      reject(
        new Error(`the agent process exited (${code ?? signal}) before it was ready: ${stderr}`),
      ),
    );
  });
  // Once `within` gave up, the exit that follows must not surface as an unhandled rejection.
  ready.catch(() => undefined);
  try {
    const agentId = await within(30_000, "the agent process joining", ready);
    return { child, agentId };
  } catch (error) {
    await stopAgentProcess(child);
    throw error;
  }
}

/** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone. */
async function stopAgentProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  try {
    await within(6_000, "stopping the agent process", exited);
  } finally {
    clearTimeout(timer);
  }
}

async function waitConnected(server: DroverServer, agentId: string): Promise<void> {
  const deadline = now() + 15_000;
  while (!server.delivery.connected(agentId)) {
    if (now() > deadline) throw new Error(`agent ${agentId} did not connect within 15 s`);
    await pause(5);
  }
}

/** A 10,000-line log file of ~100-byte lines, like an application's. */
function logText(): string {
  const lines: string[] = [];
  for (let i = 0; i < logLines; i += 1) {
    lines.push(
      `2026-12-05T10:00:${String(i % 60).padStart(2, "0")}.000Z INFO request ${String(i).padStart(6, "0")} GET /api/v1/items status=200 bytes=5123 ms=12`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function nodeAgentClient(server: DroverServer, dataDir: string): Promise<Client<typeof NodeAgent>> {
  const paths = serverPaths(dataDir);
  return Promise.all([
    readFile(paths.caCertificate, "utf8"),
    readFile(paths.adminCertificate, "utf8"),
    readFile(paths.adminKey, "utf8"),
  ]).then(([caPem, certificatePem, privateKeyPem]) =>
    createClient(
      NodeAgent,
      grpcTransport(server.endpoints.operator, { caPem, certificatePem, privateKeyPem }),
    ),
  );
}

/** `echo bench` spawned here and awaited with its output, as the agent does it. */
function spawnEcho(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("echo", ["bench"], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.once("error", reject);
    child.once("close", (code) =>
      code === 0 && stdout === "bench\n"
        ? resolve()
        : reject(new Error(`echo exited ${code} with ${JSON.stringify(stdout)}`)),
    );
  });
}

/**
 * Calls through the agent's session to a real agent in another process:
 * HealthCheck from the server's node functions and through NodeAgent on the
 * operator bind, against GetAgent (the same bind, no agent hop); StreamLogs of
 * a 10,000-line file against reading it here; ExecuteCommand of a declared
 * `echo` against spawning echo here.
 */
export async function benchAgentCalls(
  server: DroverServer,
  dataDir: string,
  calls: number,
): Promise<SummaryRow[]> {
  const workDir = await mkdtemp(join(tmpdir(), "drover-bench-agent-"));
  const logPath = join(workDir, "app.log");
  const configFile = join(workDir, "agent.json");
  await writeFile(logPath, logText());
  const logBytes = (await stat(logPath)).size;
  await writeFile(
    configFile,
    JSON.stringify({
      commands: { echo: { argv: ["echo", "bench"], timeout: "5s" } },
      logs: { app: logPath },
    }),
  );
  let agent: { child: ChildProcess; agentId: string } | undefined;
  try {
    const startStart = now();
    agent = await startAgentProcess(server, workDir, configFile);
    const { agentId } = agent;
    await waitConnected(server, agentId);
    const startMs = now() - startStart;

    const operator = await operatorClientFromDataDir(dataDir);
    const nodeAgent = await nodeAgentClient(server, dataDir);
    const headers = { "drover-agent-id": agentId };
    const paths: Array<{ name: string; call: () => Promise<unknown> }> = [
      {
        name: "GetAgent, operator gRPC (baseline: no agent hop)",
        call: () => operator.getAgent({ id: agentId }),
      },
      {
        name: "HealthCheck, server.node (session call)",
        call: () => server.node.healthCheck(principal, agentId),
      },
      {
        name: "NodeAgent.HealthCheck, operator gRPC → agent",
        call: () => nodeAgent.healthCheck({}, { headers }),
      },
    ];
    // Warm every path (connections, JIT) before anything is timed.
    for (const path of paths) await measure(50, 4, unaryBudgetMs, path.call);

    const unaryRows: string[][] = [];
    const unary = new Map<string, Measured>();
    for (const inFlight of inFlightLevels) {
      const results = [];
      for (const path of paths) {
        const measured = await measure(calls, inFlight, unaryBudgetMs, path.call);
        unary.set(`${path.name}/${inFlight}`, measured);
        results.push({ path, measured });
      }
      const baselineP50 = percentile(results[0]?.measured.latencies ?? [], 50);
      for (const { path, measured } of results) {
        const p50 = percentile(measured.latencies, 50);
        unaryRows.push([
          path.name,
          String(inFlight),
          String(measured.calls),
          fmtRate(perSecond(measured.calls, measured.ms)),
          fmtMs(p50),
          fmtMs(percentile(measured.latencies, 99)),
          fmtRatio(p50 / baselineP50),
        ]);
      }
    }

    // StreamLogs of the whole file, against reading and splitting it here.
    const streamMs: number[] = [];
    const readMs: number[] = [];
    for (let round = 0; round < streamRounds; round += 1) {
      const stop = new AbortController();
      const started = now();
      let received = 0;
      let bytes = 0;
      for await (const line of server.node.streamLogs(
        principal,
        agentId,
        { file: "app", follow: false, lines: logLines },
        stop.signal,
      )) {
        received += 1;
        bytes += Buffer.byteLength(line.message) + 1;
      }
      streamMs.push(now() - started);
      if (received !== logLines || bytes !== logBytes)
        throw new Error(
          `StreamLogs gave ${received} lines / ${bytes} B, not ${logLines} / ${logBytes}`,
        );
      const readStarted = now();
      const split = (await readFile(logPath, "utf8")).split("\n");
      readMs.push(now() - readStarted);
      if (split.length - 1 !== logLines) throw new Error("the log file has the wrong line count");
    }
    const streamP50 = median(streamMs);
    const readP50 = median(readMs);
    const mbPerSecond = (ms: number) => logBytes / 1e6 / (ms / 1000);

    // ExecuteCommand of the declared echo, against spawning echo here.
    const exec = await measure(commandCalls, 1, 30_000, async () => {
      const result = await server.node.executeCommand(principal, agentId, {
        command: "echo",
        args: [],
      });
      if (result.exitCode !== 0 || result.stdout !== "bench\n")
        throw new Error(`echo on the agent gave ${result.exitCode}: ${result.stdout}`);
    });
    const spawned = await measure(commandCalls, 1, 30_000, spawnEcho);
    const execP50 = percentile(exec.latencies, 50);
    const spawnP50 = percentile(spawned.latencies, 50);

    const sessionSeq = unary.get(`${paths[1]?.name}/1`);
    const baselineSeq = unary.get(`${paths[0]?.name}/1`);
    const session16 = unary.get(`${paths[1]?.name}/16`);
    const baseline16 = unary.get(`${paths[0]?.name}/16`);
    const grpcSeq = unary.get(`${paths[2]?.name}/1`);
    if (!sessionSeq || !baselineSeq || !session16 || !baseline16 || !grpcSeq)
      throw new Error("a unary measurement is missing");
    const rate = (m: Measured) => perSecond(m.calls, m.ms);

    printTable({
      title: "Calls on the agent session (a real agent in another process, loopback mTLS)",
      headers: ["call", "in flight", "calls", "calls/s", "p50", "p99", "p50 ÷ GetAgent p50"],
      rows: [
        ...unaryRows,
        [
          `StreamLogs, ${fmtNumber(logLines)} lines (${(logBytes / 1e6).toFixed(2)} MB), median of ${streamRounds}`,
          "1",
          String(streamRounds),
          `${fmtNumber(perSecond(logLines, streamP50))} lines/s, ${fmtNumber(mbPerSecond(streamP50))} MB/s`,
          fmtMs(streamP50),
          "",
          "",
        ],
        [
          "ExecuteCommand echo, server.node",
          "1",
          String(exec.calls),
          fmtRate(rate(exec)),
          fmtMs(execP50),
          fmtMs(percentile(exec.latencies, 99)),
          "",
        ],
      ],
      notes: [
        `The agent process started, joined and connected in ${fmtMs(startMs)}. Unary paths: up to ${calls} calls or ${unaryBudgetMs / 1000} s each, after 50 warm-up calls; both HealthCheck paths read and authorize the agent row like GetAgent does.`,
        `StreamLogs baseline: reading and splitting the same file here: ${fmtMs(readP50)} (${fmtNumber(perSecond(logLines, readP50))} lines/s, ${fmtNumber(mbPerSecond(readP50))} MB/s); the stream takes ${fmtRatio(streamP50 / readP50)} as long.`,
        `ExecuteCommand baseline: spawning echo here and awaiting it: p50 ${fmtMs(spawnP50)}, ${fmtRate(rate(spawned))}; the call takes ${fmtRatio(execP50 / spawnP50)} as long (the agent's spawn, the session hop, authorization and the audit event). ${commandCalls} calls: the per-agent command bucket holds 20.`,
      ],
    });
    return [
      {
        metric: "HealthCheck through the agent session, p50 (1 in flight)",
        value: fmtMs(percentile(sessionSeq.latencies, 50)),
        baseline: `GetAgent ${fmtMs(percentile(baselineSeq.latencies, 50))}`,
        ratio: fmtRatio(
          percentile(sessionSeq.latencies, 50) / percentile(baselineSeq.latencies, 50),
        ),
      },
      {
        metric: "HealthCheck through the agent session, 16 in flight",
        value: fmtRate(rate(session16)),
        baseline: `GetAgent ${fmtRate(rate(baseline16))}`,
        ratio: fmtRatio(rate(session16) / rate(baseline16)),
      },
      {
        metric: "NodeAgent.HealthCheck, operator gRPC → agent, p50",
        value: fmtMs(percentile(grpcSeq.latencies, 50)),
        baseline: `GetAgent ${fmtMs(percentile(baselineSeq.latencies, 50))}`,
        ratio: fmtRatio(percentile(grpcSeq.latencies, 50) / percentile(baselineSeq.latencies, 50)),
      },
      {
        metric: `StreamLogs, ${fmtNumber(logLines)} file lines`,
        value: `${fmtNumber(perSecond(logLines, streamP50))} lines/s`,
        baseline: `read + split ${fmtNumber(perSecond(logLines, readP50))} lines/s`,
        ratio: fmtRatio(streamP50 / readP50),
      },
      {
        metric: "ExecuteCommand echo, p50",
        value: fmtMs(execP50),
        baseline: `spawn echo ${fmtMs(spawnP50)}`,
        ratio: fmtRatio(execP50 / spawnP50),
      },
    ];
  } finally {
    if (agent) await stopAgentProcess(agent.child);
    await rm(workDir, { recursive: true, force: true });
  }
}
