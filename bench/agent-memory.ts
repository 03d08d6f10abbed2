import type { DroverServer } from "../lib/server/index.ts";
import { agentClient, sampleReport } from "./health-stream.ts";
import { registerAgents, type SummaryRow } from "./registration.ts";
import { fmtBytes, fmtMs, now, pause, printTable, within } from "./table.ts";

interface MemorySample {
  rss: number;
  heapUsed: number;
}

async function settledMemory(): Promise<MemorySample> {
  Bun.gc(true);
  await pause(50);
  Bun.gc(true);
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

async function countOnline(server: DroverServer): Promise<number> {
  let online = 0;
  let pageToken = "";
  for (let page = 0; page < 1000; page++) {
    const result = await server.fleet.listAgents({ state: "online", pageSize: 1000, pageToken });
    online += result.agents.length;
    pageToken = result.nextPageToken;
    if (pageToken === "") break;
  }
  return online;
}

/** Polls the store until `count` agents are online, or throws after `budgetMs`. */
async function waitOnline(server: DroverServer, count: number, budgetMs: number): Promise<number> {
  const start = now();
  let online = 0;
  while (now() - start < budgetMs) {
    online = await countOnline(server);
    if (online >= count) return now() - start;
    await pause(50);
  }
  throw new Error(`only ${online} of ${count} agents online after ${budgetMs} ms`);
}

export async function benchAgentMemory(server: DroverServer, count: number): Promise<SummaryRow[]> {
  const registerStart = now();
  const identities = await registerAgents(server, count, 60_000);
  const registerMs = now() - registerStart;
  const message = sampleReport();

  const before = await settledMemory();
  // Every stream sends one report, then stays open until released.
  const release = new AbortController();
  const held = new Promise<void>((resolve) =>
    release.signal.addEventListener("abort", () => resolve(), { once: true }),
  );
  async function* oneReport() {
    yield message;
    await held;
  }
  const openStart = now();
  const calls = identities.map((identity) =>
    agentClient(identity, identity.agentAddress)
      .reportHealth(oneReport())
      .then(
        () => undefined,
        (error: unknown) => error,
      ),
  );
  let onlineMs: number;
  let after: MemorySample;
  try {
    onlineMs = await waitOnline(server, count, 60_000);
    after = await settledMemory();
  } finally {
    release.abort();
    const failures = (await within(30_000, "closing the agent streams", Promise.all(calls))).filter(
      (result) => result !== undefined,
    );
    if (failures.length > 0) {
      console.error(`${failures.length} streams failed; first: ${String(failures[0])}`);
    }
  }
  const connectMs = now() - openStart;

  const rss = (after.rss - before.rss) / count;
  const heap = (after.heapUsed - before.heapUsed) / count;
  printTable({
    title: `Memory per connected agent: ${count} ReportHealth streams, one connection and certificate each`,
    headers: ["measure", "before", "after", "per agent"],
    rows: [
      ["rss", fmtBytes(before.rss), fmtBytes(after.rss), fmtBytes(rss)],
      ["heapUsed", fmtBytes(before.heapUsed), fmtBytes(after.heapUsed), fmtBytes(heap)],
    ],
    notes: [
      `Registered ${count} agents in ${fmtMs(registerMs)}; all online ${fmtMs(onlineMs)} after opening the streams; total open+close ${fmtMs(connectMs)}.`,
      "Client and server share this process (both ends of every TLS connection are counted),",
      "so these figures are an upper bound for the server side. Measured after Bun.gc(true).",
    ],
  });
  return [
    {
      metric: "rss per connected agent (upper bound)",
      value: fmtBytes(rss),
      baseline: `${fmtBytes(before.rss)} idle`,
      ratio: "",
    },
    {
      metric: "heap per connected agent (upper bound)",
      value: fmtBytes(heap),
      baseline: `${fmtBytes(before.heapUsed)} idle`,
      ratio: "",
    },
  ];
}
