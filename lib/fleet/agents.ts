import { DroverError, invalidField } from "../errors/index.ts";
import {
  type AgentPayload,
  batchedCommits,
  type DisconnectReason,
  noChanges,
} from "../events/index.ts";
import { parseSelector } from "../selector/index.ts";
import type { AgentRow, AgentState, HeartbeatRow } from "../store/index.ts";
import type { FleetDeps } from "./deps.ts";

export interface ListAgentsInput {
  selector?: string;
  state?: AgentState;
  pageSize?: number;
  pageToken?: string;
}

export interface AgentPage {
  agents: AgentRow[];
  nextPageToken: string;
}

const defaultPageSize = 100;
const maxPageSize = 1000;

function encodePageToken(lastId: string): string {
  return btoa(lastId).replaceAll("=", "");
}

function decodePageToken(token: string): string {
  try {
    const id = atob(token);
    if (/^[a-z0-9-]{1,64}$/.test(id)) return id;
  } catch {
    // fall through to the error below
  }
  throw invalidField("page_token", "is not a token this server issued");
}

export async function listAgents(deps: FleetDeps, input: ListAgentsInput): Promise<AgentPage> {
  const pageSize = input.pageSize || defaultPageSize;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > maxPageSize) {
    throw invalidField("page_size", `must be from 1 to ${maxPageSize}`);
  }
  const selector = parseSelector(input.selector ?? "");
  const afterId = input.pageToken ? decodePageToken(input.pageToken) : undefined;
  // One row more than asked tells whether another page exists.
  const rows = await deps.store.agents.list({
    selector,
    state: input.state,
    limit: pageSize + 1,
    afterId,
  });
  const agents = rows.slice(0, pageSize);
  const last = agents.at(-1);
  return {
    agents,
    nextPageToken: rows.length > pageSize && last ? encodePageToken(last.id) : "",
  };
}

export async function getAgent(deps: FleetDeps, id: string): Promise<AgentRow> {
  if (id === "") throw invalidField("id", "is required");
  const agent = await deps.store.agents.get(id);
  if (!agent) throw new DroverError("not_found", `agent ${id} not found`);
  return agent;
}

/** Agent events say which workspace they concern, so watchers can filter and be authorized. */
export function agentPayload(agent: AgentRow): AgentPayload {
  return {
    agent_id: agent.id,
    workspace_id: agent.workspaceId,
    hostname: agent.hostname,
    ip_address: agent.ip,
  };
}

/**
 * Forgets the agent and revokes every certificate it holds, in one transaction
 * with its events: a connected agent is also `agent.disconnected` (`revoked`).
 */
export async function deleteAgent(deps: FleetDeps, id: string): Promise<void> {
  if (id === "") throw invalidField("id", "is required");
  const now = deps.clock.now();
  await deps.events.commit(async (tx) => {
    const agent = await tx.agents.get(id);
    if (!agent || !(await tx.agents.delete(id))) {
      throw new DroverError("not_found", `agent ${id} not found`);
    }
    await tx.certificates.revokeBySubject(id, now);
    if (agent.state !== "offline") {
      await tx.emit({
        type: "agent.disconnected",
        subjectId: id,
        data: { ...agentPayload(agent), reason: "revoked" },
        changes: noChanges,
      });
    }
    await tx.emit({
      type: "agent.deleted",
      subjectId: id,
      data: agentPayload(agent),
      changes: { agents: [id] },
    });
  });
}

/** Presence changes no desired state: the session itself brings the agent up to date. */
export async function markAgentConnected(deps: FleetDeps, agent: AgentRow): Promise<void> {
  // A reconnect storm brings thousands at once: they share commits.
  await batchedCommits(deps.events).commit(async (tx) => {
    await tx.agents.markOnline(agent.id, deps.clock.now());
    await tx.emit({
      type: "agent.connected",
      subjectId: agent.id,
      data: agentPayload(agent),
      changes: noChanges,
    });
  });
}

/**
 * An agent that is already offline (swept, shut down, deleted) says nothing
 * more, so every disconnection is reported once, with its first reason.
 */
export async function markAgentDisconnected(
  deps: FleetDeps,
  id: string,
  reason: DisconnectReason,
  lastReport?: HeartbeatRow,
): Promise<void> {
  await batchedCommits(deps.events).commit(async (tx) => {
    // The report not yet flushed goes with the disconnection, so it is never lost.
    if (lastReport !== undefined) await tx.agents.writeHeartbeats([lastReport]);
    const agent = await tx.agents.get(id);
    if (!agent || agent.state === "offline") return;
    await tx.agents.setState(id, "offline", deps.clock.now());
    await tx.emit({
      type: "agent.disconnected",
      subjectId: id,
      data: { ...agentPayload(agent), reason },
      changes: noChanges,
    });
  });
}

/**
 * The ids of the agents it marked offline. The reports not yet flushed are
 * written first in the same transaction, so the cutoff is compared with the
 * last_seen_at held in memory, and nothing reported is lost.
 */
async function markOfflineUnseenSince(
  deps: FleetDeps,
  cutoff: Date,
  reason: DisconnectReason,
  pending: readonly HeartbeatRow[],
): Promise<string[]> {
  const now = deps.clock.now();
  return deps.events.commit(async (tx) => {
    await tx.agents.writeHeartbeats(pending);
    const ids = await tx.agents.markStaleOffline(cutoff, now);
    for (const id of ids) {
      const agent = await tx.agents.get(id);
      if (!agent) continue;
      await tx.emit({
        type: "agent.disconnected",
        subjectId: id,
        data: { ...agentPayload(agent), reason },
        changes: noChanges,
      });
    }
    return ids;
  });
}

/** Three missed heartbeats make an agent offline, even if its stream looks open. */
export function markSilentAgentsOffline(
  deps: FleetDeps,
  pending: readonly HeartbeatRow[] = [],
): Promise<string[]> {
  const cutoff = new Date(deps.clock.now().getTime() - 3 * deps.settings.heartbeatIntervalMs);
  return markOfflineUnseenSince(deps, cutoff, "connection_timeout", pending);
}

/**
 * The server stops, or starts after one that died: every agent still marked
 * connected is offline until it proves otherwise by reconnecting.
 */
export function markAllAgentsOffline(
  deps: FleetDeps,
  pending: readonly HeartbeatRow[] = [],
): Promise<string[]> {
  return markOfflineUnseenSince(deps, new Date(8.64e15), "server_shutdown", pending);
}
