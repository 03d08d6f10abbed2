import { Database } from "bun:sqlite";
import { Agent as HttpsAgent, request } from "node:https";
import type { HealthStream } from "../lib/fleet/index.ts";
import { newId } from "../lib/ids/index.ts";
import { parseSelector } from "../lib/selector/index.ts";
import { type DroverServer, serverPaths } from "../lib/server/index.ts";
import type { NewAgent } from "../lib/store/index.ts";
import { type HeartbeatLoad, startHeartbeatLoad } from "./heartbeat-load.ts";
import { sampleHealth } from "./heartbeats.ts";
import type { SummaryRow } from "./registration.ts";
import {
  fmtMs,
  fmtNumber,
  fmtRatio,
  mean,
  now,
  pause,
  percentile,
  printTable,
  within,
} from "./table.ts";

const agentCount = 10_000;
const zones = "abcdefghij".split("");
const selectorText = "zone=c,tier=web";
const perPage = 100;
/** Agents matching selectorText among the seeded ones (zone c is 1 in 10, web 1 in 2). */
const expectedMatches = agentCount / 20;
const seedBatch = 1000;
/** The whole fleet heartbeating during the loaded phase, and how often each agent reports. */
const heartbeatAgents = 25_000;
const heartbeatSeconds = 10;
/** The timed rounds stop early when they take longer than this. */
const budgetMs = 40_000;

interface HttpsResponse {
  status: number;
  body: unknown;
}

/** One HTTP/1.1 request on the shared keep-alive agent; resolves once the body is parsed. */
export function httpsJson(
  agent: HttpsAgent,
  url: URL,
  method: string,
  options: { token?: string; body?: unknown } = {},
): Promise<HttpsResponse> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers: {
          ...(payload === undefined ? {} : { "content-type": "application/json" }),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          try {
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({
              status: res.statusCode ?? 0,
              body: text === "" ? undefined : JSON.parse(text),
            });
          } catch (error) {
            reject(error);
          }
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url.pathname} timed out`)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** The first admin's bearer token, through POST /v1/auth/login. */
export async function loginFirstAdmin(server: DroverServer, agent: HttpsAgent): Promise<string> {
  const first = server.firstAdmin;
  if (!first) throw new Error("a fresh server must create its first admin");
  const url = new URL("/v1/auth/login", `https://${server.endpoints.http}`);
  const login = await httpsJson(agent, url, "POST", { body: first });
  if (login.status !== 200) throw new Error(`login failed: ${login.status}`);
  return (login.body as { access_token: string }).access_token;
}

/**
 * Latencies of up to `count` rounds, each running every op once in turn, so
 * that all paths see the same machine (load, GC, page cache) over the run.
 * Stops starting rounds once `budgetMs` has passed.
 */
async function sampleInterleaved(
  count: number,
  budgetMs: number,
  ops: readonly (() => unknown)[],
): Promise<number[][]> {
  const latencies = ops.map((): number[] => []);
  const deadline = now() + budgetMs;
  for (let round = 0; round < count && now() < deadline; round++) {
    for (const [index, op] of ops.entries()) {
      const start = now();
      await op();
      latencies[index]?.push(now() - start);
    }
  }
  return latencies;
}

/** Milliseconds, or microseconds below 1 ms so that tiny baselines keep their digits. */
function fmtLatency(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : fmtMs(ms);
}

/**
 * `count` agents with varied labels in one workspace, straight into the store
 * (untimed); names start at `first`. Returns their ids.
 */
async function seedAgents(
  server: DroverServer,
  workspaceId: string,
  first: number,
  count: number,
): Promise<string[]> {
  const { store, clock } = server.fleet.deps;
  const at = clock.now();
  const ids: string[] = [];
  for (let start = first; start < first + count; start += seedBatch) {
    await store.transaction(async (tx) => {
      for (let i = start; i < Math.min(first + count, start + seedBatch); i++) {
        const row: NewAgent = {
          id: newId("ag"),
          name: `bench-${i}`,
          hostname: `bench-${i}.example`,
          ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          version: "bench",
          labels: {
            zone: zones[i % zones.length] as string,
            tier: Math.floor(i / zones.length) % 2 === 0 ? "web" : "db",
            env: i % 3 === 0 ? "staging" : "prod",
            rack: `r${i % 37}`,
          },
          capabilities: ["config", "exec"],
          state: i % 4 === 0 ? "offline" : "online",
          lastSeenAt: at,
          createdAt: at,
          updatedAt: at,
          workspaceId,
        };
        ids.push((await tx.agents.insert(row)).id);
      }
    });
  }
  return ids;
}

/** A health stream per agent, opened a batch at a time so that connections share commits. */
async function openStreams(server: DroverServer, ids: readonly string[]): Promise<HealthStream[]> {
  const streams: HealthStream[] = [];
  for (let start = 0; start < ids.length; start += seedBatch) {
    const batch = ids.slice(start, start + seedBatch);
    streams.push(...(await Promise.all(batch.map((id) => server.fleet.openHealthStream(id)))));
  }
  return streams;
}

interface Stats {
  p50: number;
  p99: number;
  mean: number;
  n: number;
}

function stats(latencies: number[]): Stats {
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    mean: mean(latencies),
    n: latencies.length,
  };
}

/** The four paths, timed together: the REST answer, the store's, and the two raw SQL baselines. */
interface PathStats {
  rest: Stats;
  store: Stats;
  sqlFiltered: Stats;
  sql: Stats;
}

/** Warms every path (connection, JIT, page cache), then samples them round by round. */
async function measurePaths(
  count: number,
  ops: readonly [() => unknown, () => unknown, () => unknown, () => unknown],
): Promise<PathStats> {
  await sampleInterleaved(Math.min(20, count), 10_000, ops);
  const [rest, store, sqlFiltered, sql] = (await sampleInterleaved(count, budgetMs, ops)).map(
    stats,
  ) as [Stats, Stats, Stats, Stats];
  return { rest, store, sqlFiltered, sql };
}

export async function benchRestList(
  server: DroverServer,
  dataDir: string,
  count: number,
): Promise<SummaryRow[]> {
  const caPem = server.fleet.deps.authority.ca.certificatePem;
  const base = `https://${server.endpoints.http}`;
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: caPem });
  const raw = new Database(serverPaths(dataDir).database, { readonly: true });
  let load: HeartbeatLoad | undefined;
  try {
    const token = await loginFirstAdmin(server, agent);
    const created = async (path: string, body: unknown): Promise<string> => {
      const result = await httpsJson(agent, new URL(path, base), "POST", { token, body });
      if (result.status !== 201) throw new Error(`POST ${path}: ${result.status}`);
      return (result.body as { id: string }).id;
    };
    const orgId = await created("/v1/organizations", { name: "Bench", slug: "bench" });
    const workspace = (slug: string) =>
      created(`/v1/organizations/${orgId}/workspaces`, { name: slug, slug });
    const workspaceId = await workspace("bench");

    const seedStart = now();
    const listed = await within(
      60_000,
      "seeding agents",
      seedAgents(server, workspaceId, 0, agentCount),
    );
    const seedMs = now() - seedStart;

    const listUrl = new URL(
      `/v1/workspaces/${workspaceId}/agents?label_selector=${encodeURIComponent(selectorText)}&per_page=${perPage}`,
      base,
    );
    const restOnce = async () => {
      const result = await httpsJson(agent, listUrl, "GET", { token });
      if (result.status !== 200) throw new Error(`GET agents: ${result.status}`);
      return result.body as {
        data: { labels: Record<string, string> }[];
        meta: { total: number };
      };
    };
    // The answer is what the selector promises, before anything is timed.
    const checkPage = async () => {
      const page = await restOnce();
      if (
        page.meta.total !== expectedMatches ||
        page.data.length !== perPage ||
        !page.data.every((row) => row.labels.zone === "c" && row.labels.tier === "web")
      ) {
        throw new Error(`unexpected page: total ${page.meta.total}, ${page.data.length} rows`);
      }
    };
    await checkPage();

    const store = server.fleet.deps.store;
    const filter = { workspaceId, selector: parseSelector(selectorText) };
    const storeOnce = () =>
      Promise.all([
        store.agents.list({ ...filter, limit: perPage, offset: 0 }),
        store.agents.count(filter),
      ]);
    const rawStatement = raw.query("SELECT * FROM agents LIMIT 100");
    const rawOnce = () => {
      if (rawStatement.all().length !== perPage) throw new Error("raw query returned too few rows");
    };
    // The statements the store issues for this filter, by hand, to split SQL from mapping:
    // zone=c (the fewest agents) drives, tier=web is probed per agent.
    const where =
      "workspace_id = ? AND id IN (SELECT agent_id FROM agent_labels WHERE key = 'zone' AND value = ?)" +
      " AND EXISTS (SELECT 1 FROM agent_labels WHERE agent_id = agents.id AND key = 'tier' AND value = ?)";
    const rawFilteredList = raw.query(
      `SELECT * FROM agents WHERE ${where} ORDER BY id ASC LIMIT ${perPage} OFFSET 0`,
    );
    const rawFilteredCount = raw.query(`SELECT count(*) AS n FROM agents WHERE ${where}`);
    const rawFilteredOnce = () => {
      const rows = rawFilteredList.all(workspaceId, "c", "web");
      const counted = rawFilteredCount.get(workspaceId, "c", "web") as { n: number } | null;
      if (rows.length !== perPage || counted?.n !== expectedMatches)
        throw new Error("raw filtered query disagrees with the REST answer");
    };
    const ops = [restOnce, storeOnce, rawFilteredOnce, rawOnce] as const;

    const idle = await measurePaths(count, ops);

    // The rest of the fleet: 25,000 agents in all, the others in a second workspace.
    const othersStart = now();
    const others = await within(
      90_000,
      "seeding the other agents",
      seedAgents(server, await workspace("others"), agentCount, heartbeatAgents - agentCount),
    );
    const streams = await within(
      120_000,
      "opening streams",
      openStreams(server, [...listed, ...others]),
    );
    const openMs = now() - othersStart;
    load = startHeartbeatLoad(streams, heartbeatAgents / heartbeatSeconds, sampleHealth());
    // Every listed agent has reported (and been flushed) before the clock starts.
    await pause(heartbeatSeconds * 1000 + 1500);
    await checkPage();
    const loaded = await measurePaths(count, ops);
    const heartbeats = await load.stop();
    load = undefined;
    // The same rows (with their health), the load stopped: what is left is the rows' size.
    const after = await measurePaths(count, ops);

    const row = (name: string, s: Stats) => [
      name,
      fmtLatency(s.p50),
      fmtLatency(s.p99),
      fmtLatency(s.mean),
      s.n,
    ];
    const phase = (title: string, p: PathStats) => [
      [title, "", "", "", ""],
      row("  REST GET over HTTPS (keep-alive, bearer)", p.rest),
      row("  store.agents.list + count (filtered)", p.store),
      row("    same filtered SQL, raw through bun:sqlite", p.sqlFiltered),
      row("  raw SQL SELECT * FROM agents LIMIT 100 (baseline)", p.sql),
      [
        "  ratio REST p50 / raw SQL p50; REST p99 / raw filtered p99",
        `${fmtRatio(p.rest.p50 / p.sql.p50)}; ${fmtRatio(p.rest.p99 / p.sqlFiltered.p99)}`,
        "",
        "",
        "",
      ],
    ];
    printTable({
      title: `REST list: ${agentCount} agents, GET …/agents?label_selector=${selectorText}&per_page=${perPage}`,
      headers: ["path", "p50", "p99", "mean", "n"],
      rows: [
        ...phase("idle (no agent connected, rows without health)", idle),
        ...phase(
          `while ${fmtNumber(heartbeatAgents)} agents heartbeat (${fmtNumber(heartbeatAgents / heartbeatSeconds)}/s)`,
          loaded,
        ),
        ...phase("after the load (streams open, rows with health)", after),
      ],
      notes: [
        `Seeded ${agentCount} agents (zone=a..j, tier=web|db) through the store in ${fmtMs(seedMs)}, untimed;`,
        `the selector matches ${expectedMatches}. Requests are sequential on one keep-alive HTTP/1.1 connection,`,
        "interleaved round by round with the other three paths;",
        "raw SQL runs through bun:sqlite on the same database file, opened read-only (a WAL reader: never behind the writer lock);",
        "the raw filtered SQL is the store's (zone=c drives, tier=web probed) without its driver probes.",
        "The HTTPS client runs in the server's process: its request and JSON.parse are in the REST figures.",
        `The load: ${fmtNumber(heartbeatAgents - agentCount)} more agents in a second workspace (same labels), a health stream opened for`,
        `all ${fmtNumber(heartbeatAgents)} (${fmtMs(openMs)} with the seeding, untimed), then fleet.openHealthStream(id).record() IN THIS PROCESS`,
        `round-robin at ${fmtNumber(heartbeatAgents / heartbeatSeconds)}/s (no gRPC decode: the session's own cost is not in it), flushed by the server's task;`,
        `sampling starts after one full round (${heartbeatSeconds} s). Over the load: ${fmtNumber(heartbeats.recorded)} reports (${heartbeats.failed} failed) in ${fmtMs(heartbeats.wallMs)},`,
        `record() p99 ${fmtMs(heartbeats.p99)}, event-loop lag p99 ${fmtMs(heartbeats.lagP99)} (max ${fmtMs(heartbeats.lagMax)}), CPU ${heartbeats.cpuPercent.toFixed(0)} % of a core.`,
      ],
    });
    return [
      {
        metric: "REST filtered list of 10k agents, p50 / p99 idle",
        value: `${fmtLatency(idle.rest.p50)} / ${fmtLatency(idle.rest.p99)}`,
        baseline: `${fmtLatency(idle.sql.p50)} raw SQL`,
        ratio: fmtRatio(idle.rest.p50 / idle.sql.p50),
      },
      {
        metric: `same, while ${fmtNumber(heartbeatAgents)} agents heartbeat, p50 / p99`,
        value: `${fmtLatency(loaded.rest.p50)} / ${fmtLatency(loaded.rest.p99)}`,
        baseline: `${fmtLatency(loaded.sqlFiltered.p99)} raw filtered SQL p99`,
        ratio: fmtRatio(loaded.rest.p99 / loaded.sqlFiltered.p99),
      },
    ];
  } finally {
    await load?.stop();
    agent.destroy();
    raw.close();
  }
}
