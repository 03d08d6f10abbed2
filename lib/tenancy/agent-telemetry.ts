import type { Principal } from "../auth/index.ts";
import { DroverError, invalidField } from "../errors/index.ts";
import type { Fleet } from "../fleet/index.ts";
import {
  type AgentLogLevel,
  type AgentLogRow,
  type AgentMetricRow,
  agentLogLevels,
} from "../store/index.ts";
import { authorizeAgent } from "./agents.ts";
import { type MetricsWindow, resolveWindow } from "./traffic.ts";

/** What agents pushed about themselves: their metrics and their own log entries. */

export const TELEMETRY_LIMIT_MAX = 1000;
export const TELEMETRY_LIMIT_DEFAULT = 100;

interface AgentTelemetryQuery extends MetricsWindow {
  /** 1-1000. */
  limit: number;
}

export interface ReportedMetricsQuery extends AgentTelemetryQuery {
  name?: string;
}

export interface AgentLogQuery extends AgentTelemetryQuery {
  /** The minimum level. */
  level?: string;
}

/**
 * Seen as the agent itself is (authorizeAgent), and only rows written while
 * it was in its current workspace: what it pushed from a workspace it left
 * may belong to another organization.
 */
async function readable(
  fleet: Fleet,
  principal: Principal,
  agentId: string,
  query: AgentTelemetryQuery,
) {
  const agent = await fleet.deps.store.agents.get(agentId);
  if (!agent) throw new DroverError("not_found", `agent ${agentId} not found`);
  await authorizeAgent(fleet, principal, agent, false);
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > TELEMETRY_LIMIT_MAX)
    throw invalidField("limit", `must be an integer from 1 to ${TELEMETRY_LIMIT_MAX}`);
  return {
    agentId,
    workspaceId: agent.workspaceId ?? undefined,
    ...resolveWindow(query, fleet.deps.clock.now()),
    limit: query.limit,
  };
}

/** Newest first; without from and to, the last 24 hours. */
export async function agentReportedMetrics(
  fleet: Fleet,
  principal: Principal,
  agentId: string,
  query: ReportedMetricsQuery,
): Promise<AgentMetricRow[]> {
  const filter = await readable(fleet, principal, agentId, query);
  if (query.name !== undefined && (query.name === "" || query.name.length > 128))
    throw invalidField("name", "must be 1-128 characters");
  return fleet.deps.store.agentTelemetry.listMetrics({ ...filter, name: query.name });
}

function logLevel(level: string | undefined): AgentLogLevel | undefined {
  if (level === undefined) return undefined;
  if (!(agentLogLevels as readonly string[]).includes(level))
    throw invalidField("level", "must be debug, info, warn or error");
  return level as AgentLogLevel;
}

/** Newest first, at `level` or above; without from and to, the last 24 hours. */
export async function agentLogs(
  fleet: Fleet,
  principal: Principal,
  agentId: string,
  query: AgentLogQuery,
): Promise<AgentLogRow[]> {
  const filter = await readable(fleet, principal, agentId, query);
  return fleet.deps.store.agentTelemetry.listLogs({ ...filter, level: logLevel(query.level) });
}
