import { readFile } from "node:fs/promises";
import { createSecureServer, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient, type ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  AgentService,
  type ReportHealthRequest,
  ReportHealthRequestSchema,
} from "../lib/gen/drover/v1/agent_pb.ts";
import { type DroverServer, serverPaths } from "../lib/server/index.ts";
import { grpcTransport } from "../lib/transport/index.ts";
import { healthToProto } from "../lib/wire/index.ts";
import { sampleHealth } from "./heartbeats.ts";
import { type BenchIdentity, registerAgents, type SummaryRow } from "./registration.ts";
import { fmtMs, fmtRate, fmtRatio, median, now, perSecond, printTable, within } from "./table.ts";

type AgentClient = Client<typeof AgentService>;

/** A realistic report, built once: the benchmark measures the stream, not the sampler. */
export function sampleReport(): ReportHealthRequest {
  return create(ReportHealthRequestSchema, { report: healthToProto(sampleHealth()) });
}

export function agentClient(identity: BenchIdentity, address: string): AgentClient {
  return createClient(
    AgentService,
    grpcTransport(address, {
      caPem: identity.caPem,
      certificatePem: identity.certificatePem,
      privateKeyPem: identity.privateKeyPem,
    }),
  );
}

interface StreamRun {
  sent: number;
  ms: number;
}

/** Pushes up to `count` copies of `message` on one stream; the clock stops at the response. */
async function pushReports(
  client: AgentClient,
  message: ReportHealthRequest,
  count: number,
  budgetMs: number,
): Promise<StreamRun> {
  let sent = 0;
  const start = now();
  const deadline = start + budgetMs;
  async function* reports(): AsyncIterable<ReportHealthRequest> {
    while (sent < count && now() < deadline) {
      yield message;
      sent += 1;
    }
  }
  await within(budgetMs + 30_000, "ReportHealth stream", client.reportHealth(reports()));
  return { sent, ms: now() - start };
}

/** A Connect handler for AgentService that does nothing but drain the stream. */
async function startEmptyServer(dataDir: string, caPem: string) {
  const paths = serverPaths(dataDir);
  const [cert, key] = await Promise.all([
    readFile(paths.serverCertificate, "utf8"),
    readFile(paths.serverKey, "utf8"),
  ]);
  let received = 0;
  const empty: Partial<ServiceImpl<typeof AgentService>> = {
    async reportHealth(requests) {
      for await (const request of requests) if (request.report) received += 1;
      return {};
    },
  };
  const server = createSecureServer(
    { cert, key, ca: caPem, requestCert: true, rejectUnauthorized: true, allowHTTP1: false },
    connectNodeAdapter({ routes: (router) => router.service(AgentService, empty) }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const sessions = new Set<Http2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}

export async function benchHealthStream(
  server: DroverServer,
  dataDir: string,
  count: number,
): Promise<SummaryRow[]> {
  const [identity] = await registerAgents(server, 1, 20_000);
  if (!identity) throw new Error("no identity registered");
  const message = sampleReport();
  const empty = await startEmptyServer(dataDir, identity.caPem);
  try {
    const drover = agentClient(identity, server.endpoints.agent);
    const baseline = agentClient(identity, empty.address);
    // Connections up and code warm before timing; each round gets its own stream.
    const warmup = Math.min(200, count);
    await pushReports(drover, message, warmup, 10_000);
    await pushReports(baseline, message, warmup, 10_000);

    const budgetMs = 15_000;
    const droverRuns: StreamRun[] = [];
    const emptyRuns: StreamRun[] = [];
    for (let round = 0; round < 2; round++) {
      droverRuns.push(await pushReports(drover, message, count, budgetMs));
      emptyRuns.push(await pushReports(baseline, message, count, budgetMs));
    }
    const stored = await server.fleet.getAgent(identity.id);
    if (stored.lastSeenAt === null) throw new Error("Drover stored no health report");

    const rate = (runs: StreamRun[]) => median(runs.map((run) => perSecond(run.sent, run.ms)));
    const droverRate = rate(droverRuns);
    const emptyRate = rate(emptyRuns);
    const describe = (runs: StreamRun[]) =>
      runs.map((run) => `${run.sent} in ${fmtMs(run.ms)}`).join(", ");
    printTable({
      title: `Health reports: one ReportHealth client stream, up to ${count} reports per round`,
      headers: ["server", "reports/s", "rounds"],
      rows: [
        ["Drover agent listener", fmtRate(droverRate), describe(droverRuns)],
        ["empty Connect handler (baseline)", fmtRate(emptyRate), describe(emptyRuns)],
        ["ratio Drover / empty", fmtRatio(droverRate / emptyRate), ""],
      ],
      notes: [
        "Same mTLS client certificate and pre-built message for both; median of 2 rounds each;",
        `each round stops at ${count} reports or ${budgetMs / 1000} s, timed until the response arrives.`,
      ],
    });
    return [
      {
        metric: "health reports/s, one stream",
        value: fmtRate(droverRate),
        baseline: `${fmtRate(emptyRate)} empty`,
        ratio: fmtRatio(droverRate / emptyRate),
      },
    ];
  } finally {
    await within(10_000, "closing the empty server", empty.close());
  }
}
