import { Database } from "bun:sqlite";
import { Agent as HttpsAgent, request } from "node:https";
import { newId } from "../lib/ids/index.ts";
import { parseSelector } from "../lib/selector/index.ts";
import { type DroverServer, serverPaths } from "../lib/server/index.ts";
import type { NewAgent } from "../lib/store/index.ts";
import type { SummaryRow } from "./registration.ts";
import { fmtMs, fmtNumber, fmtRatio, mean, now, percentile, printTable, within } from "./table.ts";

const agentCount = 10_000;
const zones = "abcdefghij".split("");
const selectorText = "zone=c,tier=web";
const perPage = 100;
/** Agents matching selectorText among the seeded ones (zone c is 1 in 10, web 1 in 2). */
const expectedMatches = agentCount / 20;
const seedBatch = 1000;
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

/** 10,000 agents with varied labels in one workspace, straight into the store (untimed). */
async function seedAgents(server: DroverServer, workspaceId: string): Promise<void> {
  const { store, clock } = server.fleet.deps;
  const at = clock.now();
  for (let start = 0; start < agentCount; start += seedBatch) {
    await store.transaction(async (tx) => {
      for (let i = start; i < Math.min(agentCount, start + seedBatch); i++) {
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
        await tx.agents.insert(row);
      }
    });
  }
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

export async function benchRestList(
  server: DroverServer,
  dataDir: string,
  count: number,
): Promise<SummaryRow[]> {
  const caPem = server.fleet.deps.authority.ca.certificatePem;
  const base = `https://${server.endpoints.http}`;
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: caPem });
  const raw = new Database(serverPaths(dataDir).database, { readonly: true });
  try {
    const token = await loginFirstAdmin(server, agent);
    const created = async (path: string, body: unknown): Promise<string> => {
      const result = await httpsJson(agent, new URL(path, base), "POST", { token, body });
      if (result.status !== 201) throw new Error(`POST ${path}: ${result.status}`);
      return (result.body as { id: string }).id;
    };
    const orgId = await created("/v1/organizations", { name: "Bench", slug: "bench" });
    const workspaceId = await created(`/v1/organizations/${orgId}/workspaces`, {
      name: "Bench",
      slug: "bench",
    });

    const seedStart = now();
    await within(60_000, "seeding agents", seedAgents(server, workspaceId));
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
    const page = await restOnce();
    if (
      page.meta.total !== expectedMatches ||
      page.data.length !== perPage ||
      !page.data.every((row) => row.labels.zone === "c" && row.labels.tier === "web")
    ) {
      throw new Error(`unexpected page: total ${page.meta.total}, ${page.data.length} rows`);
    }

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
    // The statements the store issues for this filter, by hand, to split SQL from mapping.
    const where =
      "workspace_id = ? AND id IN (SELECT agent_id FROM agent_labels WHERE key = 'zone' AND value = ?)" +
      " AND id IN (SELECT agent_id FROM agent_labels WHERE key = 'tier' AND value = ?)";
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

    // Warm every path (connection, JIT, page cache) before the clock starts.
    const warmup = Math.min(20, count);
    const ops = [restOnce, storeOnce, rawFilteredOnce, rawOnce];
    await sampleInterleaved(warmup, 10_000, ops);
    const [rest, filtered, sqlFiltered, sql] = (await sampleInterleaved(count, budgetMs, ops)).map(
      stats,
    ) as [Stats, Stats, Stats, Stats];

    const row = (name: string, s: Stats) => [
      name,
      fmtLatency(s.p50),
      fmtLatency(s.p99),
      fmtLatency(s.mean),
      s.n,
    ];
    const restRatio = rest.p50 / sql.p50;
    const storeRatio = filtered.p50 / sql.p50;
    printTable({
      title: `REST list: ${agentCount} agents, GET …/agents?label_selector=${selectorText}&per_page=${perPage}`,
      headers: ["path", "p50", "p99", "mean", "n"],
      rows: [
        row("REST GET over HTTPS (keep-alive, bearer)", rest),
        row("store.agents.list + count (filtered)", filtered),
        row("  same filtered SQL, raw through bun:sqlite", sqlFiltered),
        row("raw SQL SELECT * FROM agents LIMIT 100 (baseline)", sql),
        ["ratio REST p50 / raw SQL p50", fmtRatio(restRatio), "", "", ""],
        ["ratio store-filtered p50 / raw SQL p50", fmtRatio(storeRatio), "", "", ""],
        [
          "  share of REST p50: filtered SQL / store",
          `${fmtNumber((100 * sqlFiltered.p50) / rest.p50)}% / ${fmtNumber((100 * filtered.p50) / rest.p50)}%`,
          "",
          "",
          "",
        ],
      ],
      notes: [
        `Seeded ${agentCount} agents (zone=a..j, tier=web|db) through the store in ${fmtMs(seedMs)}, untimed;`,
        `the selector matches ${expectedMatches}. Requests are sequential on one keep-alive HTTP/1.1 connection,`,
        "interleaved round by round with the other three paths;",
        "raw SQL runs through bun:sqlite on the same database file, opened read-only. The filter walks",
        "the (workspace_id, id) index and probes the agent_labels (key, value) index, once for the page, once for the count.",
      ],
    });
    return [
      {
        metric: "REST filtered list of 10k agents, p50",
        value: fmtLatency(rest.p50),
        baseline: `${fmtLatency(sql.p50)} raw SQL`,
        ratio: fmtRatio(restRatio),
      },
      {
        metric: "store filtered list + count, p50",
        value: fmtLatency(filtered.p50),
        baseline: `${fmtLatency(sql.p50)} raw SQL`,
        ratio: fmtRatio(storeRatio),
      },
    ];
  } finally {
    agent.destroy();
    raw.close();
  }
}
