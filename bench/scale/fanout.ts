/**
 * A configuration change reaching every simulated agent in the other
 * processes: a file for all agents of the bench's workspace, created through
 * the tenancy API, until each connected agent's success is recorded
 * (config.applied). The simulators answer a delivery at once and write
 * nothing, so the figures are the server's computing, storing and sending.
 */
import { operatorPrincipal } from "../../lib/auth/index.ts";
import { desiredStateForAgent, loadWorkspaceConfig } from "../../lib/desired/index.ts";
import type { FleetEvent } from "../../lib/events/index.ts";
import type { DroverServer } from "../../lib/server/index.ts";
import { createFile, createOrganization, createWorkspace } from "../../lib/tenancy/index.ts";
import type { SummaryRow } from "../registration.ts";
import { fmtMs, fmtNumber, fmtRatio, now, pause, percentile, printTable } from "../table.ts";

const admin = operatorPrincipal("bench");

export interface FanoutResult {
  agents: number;
  /** From the change's call to the last agent's success. */
  allMs: number;
  /** From the change's call to each agent's success. */
  p50: number;
  p99: number;
  /** Computing the same agents' desired states in this process, each on its own (no memo), nothing stored or sent. */
  computeMs: number;
}

/** The workspace every simulated agent joins (its join tokens name it). */
export async function createFanoutWorkspace(server: DroverServer): Promise<string> {
  const deps = server.fleet.deps;
  const org = await createOrganization(deps, admin, { name: "Scale", slug: "scale" });
  return (await createWorkspace(deps, admin, org.id, { name: "Fleet", slug: "fleet" })).id;
}

/**
 * Change `index` (a new file for every agent) until every agent of `ids`
 * has applied a state it did not hold before; throws after `budgetMs`.
 */
export async function configChangeRound(
  server: DroverServer,
  workspaceId: string,
  ids: readonly string[],
  index: number,
  budgetMs = 120_000,
): Promise<FanoutResult> {
  const deps = server.fleet.deps;
  const before = new Map<string, string | null>(ids.map((id) => [id, null]));
  for (const row of await deps.store.configStatus.getMany(ids)) {
    before.set(row.agentId, row.appliedVersion);
  }
  const appliedAt = new Map<string, number>();
  const unsubscribe = deps.events.subscribe((event: FleetEvent) => {
    if (event.type !== "config.applied") return;
    const data = event.data as { config_hash: string; success: boolean; agent_id: string };
    if (!data.success || appliedAt.has(data.agent_id) || !before.has(data.agent_id)) return;
    if (data.config_hash !== before.get(data.agent_id)) appliedAt.set(data.agent_id, now());
  });
  try {
    const started = now();
    await createFile(deps, admin, workspaceId, {
      name: `scale-${index}`,
      path: `scale/${index}.txt`,
      mode: 0o644,
      kind: "file",
      content: `change ${index}\n`,
      targetAgents: { type: "all" },
    });
    while (appliedAt.size < ids.length) {
      if (now() - started > budgetMs) {
        throw new Error(
          `change ${index}: ${appliedAt.size} of ${ids.length} agents applied within ${budgetMs / 1000} s`,
        );
      }
      await pause(20);
    }
    const latencies = [...appliedAt.values()].map((at) => at - started);
    return {
      agents: ids.length,
      allMs: Math.max(...latencies),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      computeMs: await computeBaseline(server, workspaceId, ids),
    };
  } finally {
    unsubscribe();
  }
}

async function computeBaseline(
  server: DroverServer,
  workspaceId: string,
  ids: readonly string[],
): Promise<number> {
  const { store } = server.fleet.deps;
  const config = await loadWorkspaceConfig(store, workspaceId);
  const agents = [];
  for (const id of ids) agents.push(await store.agents.get(id));
  const started = now();
  for (const agent of agents) {
    if (!agent) continue;
    desiredStateForAgent({
      agent,
      ...config,
      options: {
        configRoot: "/srv/drover/files",
        statusPort: 18080,
        certificateMaterial: () => undefined,
      },
    });
  }
  return now() - started;
}

export function printFanouts(fanouts: readonly FanoutResult[]): void {
  printTable({
    title: "Scale: a config change (a new file for every agent) until every agent applied it",
    headers: ["agents", "agent applied p50", "p99", "all applied", "computing the desired states"],
    rows: fanouts.map((f) => [
      fmtNumber(f.agents),
      fmtMs(f.p50),
      fmtMs(f.p99),
      fmtMs(f.allMs),
      fmtMs(f.computeMs),
    ]),
    notes: [
      "From the tenancy call that creates the file to each agent's success (config.applied) as the server records it; the simulators answer each delivery at once from their own processes. Baseline: the same agents' desired states computed in this process one by one, each compiled and hashed on its own (no compile memo, nothing shared, stored or sent); the fan-out shares one state among agents with equal inputs.",
    ],
  });
}

export function fanoutSummary(fanout: FanoutResult): SummaryRow {
  return {
    metric: `config change applied on all ${fmtNumber(fanout.agents)} agents (other processes)`,
    value: fmtMs(fanout.allMs),
    baseline: `compute ${fmtMs(fanout.computeMs)}`,
    ratio: fmtRatio(fanout.allMs / fanout.computeMs),
  };
}
