import type { Principal } from "../auth/index.ts";
import { DroverError, invalidField } from "../errors/index.ts";
import type { Fleet } from "../fleet/index.ts";
import type { AccessLogFilter, AccessLogRow, AccessLogStats, AgentRow } from "../store/index.ts";
import { authorizeAgent } from "./agents.ts";
import { workspaceForConfig } from "./config-scope.ts";
import { checkInt, configLimits } from "./config-validate.ts";
import type { PageOf, TenancyDeps } from "./deps.ts";
import { checkInterval, type TrafficBucket, trafficSeries } from "./traffic-series.ts";

/** Access logs and the metrics computed from them. */

export interface TimeWindow {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
}

export interface AccessLogQuery {
  from?: Date;
  to?: Date;
  status?: number;
  /** Only this agent's requests. */
  agentId?: string;
  /** A host name as the request named it (nginx's $host); compared in lowercase. */
  host?: string;
  /** 1-1000. */
  limit: number;
}

export interface TrafficMetrics {
  requestsTotal: number;
  requestsPerSecond: number;
  /** 5xx responses over all requests; 0 without requests. */
  errorRate: number;
  activeConnections: number;
  bandwidth: { inBytes: number; outBytes: number };
  statusCodes: { "2xx": number; "3xx": number; "4xx": number; "5xx": number };
  /** Every bucket of the window, when the request named an interval. */
  series?: TrafficBucket[];
}

export const ACCESS_LOG_LIMIT_MAX = 1000;

function checkDate(field: string, value: Date | undefined): void {
  if (value !== undefined && (!(value instanceof Date) || Number.isNaN(value.getTime()))) {
    throw invalidField(field, "must be an RFC 3339 timestamp");
  }
}

function checkOrder(from: Date | undefined, to: Date | undefined): void {
  checkDate("from", from);
  checkDate("to", to);
  if (from !== undefined && to !== undefined && from.getTime() >= to.getTime()) {
    throw invalidField("to", "must be after from");
  }
}

/** A metrics request's window: either bound may be left out (NxMesh: the last 24 hours). */
export type MetricsWindow = Partial<TimeWindow>;

/** A window and, optionally, an interval (1m … 1d): then the answer carries the series. */
export interface MetricsRequest extends MetricsWindow {
  interval?: string;
}

const defaultMetricsSpanMs = 86_400_000;

/** Fills a missing `to` with now and a missing `from` with 24 hours before `to`; from before to. */
export function resolveWindow(window: MetricsWindow, now: Date): TimeWindow {
  checkDate("from", window.from);
  checkDate("to", window.to);
  const to = window.to ?? now;
  const from = window.from ?? new Date(to.getTime() - defaultMetricsSpanMs);
  checkOrder(from, to);
  return { from, to };
}

/** Newest first, with the number of all matching rows. */
export async function queryAccessLogs(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  query: AccessLogQuery,
): Promise<PageOf<AccessLogRow>> {
  await workspaceForConfig(deps, principal, workspaceId, false);
  checkOrder(query.from, query.to);
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > ACCESS_LOG_LIMIT_MAX) {
    throw invalidField("limit", `must be an integer from 1 to ${ACCESS_LOG_LIMIT_MAX}`);
  }
  if (query.status !== undefined) checkInt("status_code", query.status, configLimits.statusCode);
  // What nginx's $host can hold: a name, an IPv4 address or a bracketed IPv6 one.
  if (query.host !== undefined && !/^[A-Za-z0-9._:[\]-]{1,253}$/.test(query.host)) {
    throw invalidField("host", "must be a host name or address of 1 to 253 characters");
  }
  const filter: AccessLogFilter = {
    workspaceId,
    from: query.from,
    to: query.to,
    status: query.status,
    host: query.host?.toLowerCase(),
    agentId: query.agentId,
  };
  const [items, total] = await Promise.all([
    deps.store.accessLogs.list({ ...filter, limit: query.limit }),
    deps.store.accessLogs.count(filter),
  ]);
  return { items, total };
}

/** Open connections the agent's nginx reported in its latest health report (stub_status). */
function nginxConnections(agent: AgentRow): number {
  if (agent.state === "offline") return 0;
  const nginx = (agent.lastHealth as { nginx?: { activeConnections?: unknown } } | null)?.nginx;
  const count = nginx?.activeConnections;
  return typeof count === "number" && Number.isFinite(count) && count >= 0 ? count : 0;
}

function metricsOf(
  stats: AccessLogStats,
  window: TimeWindow,
  activeConnections: number,
): TrafficMetrics {
  const seconds = (window.to.getTime() - window.from.getTime()) / 1000;
  return {
    requestsTotal: stats.total,
    requestsPerSecond: stats.total / seconds,
    errorRate: stats.total === 0 ? 0 : stats.status5xx / stats.total,
    // Now, not over the window: stub_status counts connections open at the last report.
    activeConnections,
    // In: whole requests ($request_length); out: response bodies ($body_bytes_sent).
    bandwidth: { inBytes: stats.requestBytes, outBytes: stats.bodyBytesSent },
    statusCodes: {
      "2xx": stats.status2xx,
      "3xx": stats.status3xx,
      "4xx": stats.status4xx,
      "5xx": stats.status5xx,
    },
  };
}

/** The metrics, with the series over the same filter when an interval's width was asked for. */
async function withSeries(
  metrics: TrafficMetrics,
  deps: TenancyDeps,
  filter: { workspaceId?: string; agentId?: string },
  window: TimeWindow,
  width: number | undefined,
): Promise<TrafficMetrics> {
  if (width === undefined) return metrics;
  return { ...metrics, series: await trafficSeries(deps.store, filter, window, width) };
}

export async function workspaceMetrics(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  requested: MetricsRequest,
): Promise<TrafficMetrics> {
  await workspaceForConfig(deps, principal, workspaceId, false);
  const window = resolveWindow(requested, deps.clock.now());
  const width =
    requested.interval === undefined ? undefined : checkInterval(requested.interval, window);
  let connections = 0;
  for (let offset = 0; ; offset += 1000) {
    const agents = await deps.store.agents.list({ workspaceId, limit: 1000, offset });
    for (const agent of agents) connections += nginxConnections(agent);
    if (agents.length < 1000) break;
  }
  return withSeries(
    metricsOf(await deps.store.accessLogs.stats({ workspaceId, ...window }), window, connections),
    deps,
    { workspaceId },
    window,
    width,
  );
}

/**
 * Seen through the agent's workspace, as the agent itself is. Only the logs
 * it wrote in that workspace count: its traffic from a workspace it was in
 * before may belong to another organization.
 */
export async function agentMetrics(
  fleet: Fleet,
  principal: Principal,
  agentId: string,
  requested: MetricsRequest,
): Promise<TrafficMetrics> {
  const agent = await fleet.deps.store.agents.get(agentId);
  if (!agent) throw new DroverError("not_found", `agent ${agentId} not found`);
  await authorizeAgent(fleet, principal, agent, false);
  const window = resolveWindow(requested, fleet.deps.clock.now());
  const width =
    requested.interval === undefined ? undefined : checkInterval(requested.interval, window);
  const filter = { agentId, workspaceId: agent.workspaceId ?? undefined };
  const stats = await fleet.deps.store.accessLogs.stats({ ...filter, ...window });
  return withSeries(
    metricsOf(stats, window, nginxConnections(agent)),
    fleet.deps,
    filter,
    window,
    width,
  );
}
