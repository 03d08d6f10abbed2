import { type Principal, requireFleetAdmin, requireRead, requireWrite } from "../auth/index.ts";
import type { CommandOutcome, ConfigDelivery, NginxCommand } from "../delivery/index.ts";
import { DroverError, invalidField } from "../errors/index.ts";
import {
  agentPayload,
  type CreatedJoinToken,
  type CreateJoinTokenInput,
  type Fleet,
} from "../fleet/index.ts";
import { parseSelector, validateLabels } from "../selector/index.ts";
import type { AgentRow, AgentState, ConfigStatusRow } from "../store/index.ts";
import { findDefaultWorkspace } from "./default-workspace.ts";
import { offsetOf, type PageOf, type PageRequest } from "./deps.ts";
import { checkDisplayName } from "./validate.ts";
import { getWorkspace } from "./workspaces.ts";

/**
 * Agents seen through organizations: an agent in a workspace belongs to that
 * workspace's organization; an agent that joined without one is visible only
 * to fleet-wide roles.
 */
export async function authorizeAgent(
  fleet: Fleet,
  principal: Principal,
  agent: AgentRow,
  write: boolean,
): Promise<void> {
  const what = `agent ${agent.id}`;
  if (agent.workspaceId === null) {
    if (!principal.fleetRole) throw new DroverError("not_found", `${what} not found`);
    if (write && principal.fleetRole === "viewer") {
      throw new DroverError(
        "permission_denied",
        `role viewer cannot change ${what}; admin or owner needed`,
      );
    }
    return;
  }
  const workspace = await fleet.deps.store.workspaces.get(agent.workspaceId);
  if (!workspace) throw new DroverError("not_found", `${what} not found`);
  (write ? requireWrite : requireRead)(principal, workspace.organizationId, what);
}

export async function getAgentFor(
  fleet: Fleet,
  principal: Principal,
  id: string,
): Promise<AgentRow> {
  const agent = await fleet.deps.store.agents.get(id);
  if (!agent) throw new DroverError("not_found", `agent ${id} not found`);
  await authorizeAgent(fleet, principal, agent, false);
  // Heartbeats reach the store once a second: the last one is in memory.
  return fleet.withLiveHealth(agent);
}

export interface WorkspaceAgentQuery {
  state?: AgentState;
  labelSelector?: string;
}

export async function listWorkspaceAgents(
  fleet: Fleet,
  principal: Principal,
  workspaceId: string,
  query: WorkspaceAgentQuery,
  page: PageRequest,
): Promise<PageOf<AgentRow>> {
  await getWorkspace(fleet.deps, principal, workspaceId);
  const filter = {
    workspaceId,
    state: query.state,
    selector: parseSelector(query.labelSelector ?? ""),
  };
  const { limit, offset } = offsetOf(page);
  const [items, total] = await Promise.all([
    fleet.deps.store.agents.list({ ...filter, limit, offset }),
    fleet.deps.store.agents.count(filter),
  ]);
  return { items: items.map(fleet.withLiveHealth), total };
}

export interface AgentUpdate {
  name?: string;
  labels?: Record<string, string>;
  /** Moves the agent to this workspace (a fleet-wide admin only); its configuration follows. */
  workspaceId?: string;
}

export async function updateAgentFor(
  fleet: Fleet,
  principal: Principal,
  id: string,
  patch: AgentUpdate,
): Promise<AgentRow> {
  const agent = await getAgentFor(fleet, principal, id);
  await authorizeAgent(fleet, principal, agent, true);
  if (patch.name !== undefined) checkDisplayName("name", patch.name);
  if (patch.labels !== undefined) validateLabels(patch.labels, "labels");
  if (patch.workspaceId !== undefined) {
    // An agent is a machine of the fleet, lent to one organization at a time.
    requireFleetAdmin(principal, `moving agent ${id} to another workspace`);
    await getWorkspace(fleet.deps, principal, patch.workspaceId);
  }
  return fleet.deps.events.commit(async (tx) => {
    const previous = (await tx.agents.get(id))?.workspaceId ?? null;
    const updated = await tx.agents.update(id, patch, fleet.deps.clock.now());
    const moved = updated.workspaceId !== previous;
    await tx.emit({
      type: "agent.updated",
      subjectId: id,
      data: {
        ...agentPayload(updated),
        name: updated.name,
        labels: updated.labels,
        ...(moved ? { previous_workspace_id: previous } : {}),
      },
      // Its labels and its workspace choose which hosts and files it gets; no
      // other agent's configuration depends on it, so only it is computed again.
      changes: { agents: [id] },
    });
    return updated;
  });
}

export async function deleteAgentFor(
  fleet: Fleet,
  principal: Principal,
  id: string,
): Promise<void> {
  const agent = await getAgentFor(fleet, principal, id);
  await authorizeAgent(fleet, principal, agent, true);
  await fleet.deleteAgent(id);
}

export async function createWorkspaceJoinToken(
  fleet: Fleet,
  principal: Principal,
  workspaceId: string,
  input: {
    name?: string;
    labels?: Record<string, string>;
    allowSelfLabels?: boolean;
    ttlMs?: number;
  },
): Promise<CreatedJoinToken> {
  const workspace = await getWorkspace(fleet.deps, principal, workspaceId);
  requireWrite(principal, workspace.organizationId, `workspace ${workspaceId}`);
  return fleet.createJoinToken({ role: "agent", ...input, workspaceId });
}

/**
 * A join token from the operator API or the CLI: an agent token without a
 * workspace lands in the default one while it exists (unassigned otherwise,
 * as before the default existed); an operator joins no workspace.
 */
export async function createJoinTokenFor(
  fleet: Fleet,
  principal: Principal,
  input: CreateJoinTokenInput,
): Promise<CreatedJoinToken & { workspaceId: string | null }> {
  requireFleetAdmin(principal, "creating a join token");
  if (input.workspaceId !== undefined && input.role !== "agent")
    throw invalidField("workspace_id", "only agents join a workspace");
  const workspaceId =
    input.role !== "agent"
      ? undefined
      : input.workspaceId !== undefined
        ? (await getWorkspace(fleet.deps, principal, input.workspaceId)).id
        : (await findDefaultWorkspace(fleet.deps))?.id;
  const created = await fleet.createJoinToken({ ...input, workspaceId });
  return { ...created, workspaceId: workspaceId ?? null };
}

/** An agent's configuration status: the version it should hold, the one it applied, the latest delivery's state. */
export async function getAgentConfigFor(
  fleet: Fleet,
  principal: Principal,
  id: string,
): Promise<ConfigStatusRow | null> {
  await getAgentFor(fleet, principal, id);
  return fleet.deps.store.configStatus.get(id);
}

/** The most configuration text validate_config carries, in UTF-8 bytes. */
const maxConfigTextBytes = 1024 * 1024;

/** What each command may carry; fields are named as in REST (and the operator API). */
function checkNginxCommand(command: Omit<NginxCommand, "id">): void {
  const { kind, configText, timeoutSeconds } = command;
  if (kind === "validate_config") {
    if (configText === undefined || configText === "")
      throw invalidField("config_text", "is required");
    if (Buffer.byteLength(configText, "utf8") > maxConfigTextBytes)
      throw invalidField("config_text", "must be at most 1 MiB");
    if (timeoutSeconds !== undefined)
      throw invalidField("timeout_seconds", "does not apply to validate_config");
    return;
  }
  if (configText !== undefined) throw invalidField("config_text", "only with validate_config");
  if (
    timeoutSeconds !== undefined &&
    (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 3600)
  )
    throw invalidField("timeout_seconds", "must be an integer from 1 to 3600");
}

/** Sends an nginx command to a connected agent (admin) and returns its answer. */
export async function commandAgentFor(
  fleet: Fleet,
  delivery: ConfigDelivery,
  principal: Principal,
  id: string,
  command: Omit<NginxCommand, "id">,
): Promise<CommandOutcome> {
  checkNginxCommand(command);
  const agent = await getAgentFor(fleet, principal, id);
  await authorizeAgent(fleet, principal, agent, true);
  return delivery.command(id, command);
}
