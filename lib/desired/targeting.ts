import { isDroverError } from "../errors/index.ts";
import type { NginxHostOutcome } from "../nginx/index.ts";
import { type Labels, matchesSelector, parseSelector } from "../selector/index.ts";
import type { AgentRow, TargetAgents, VirtualHostRow } from "../store/index.ts";

export interface Targeting {
  /** The workspace's hosts deployed to the agent. */
  targeted: VirtualHostRow[];
  /** Hosts whose target cannot be decided (an unreadable selector): set aside. */
  setAside: Extract<NginxHostOutcome, { status: "set_aside" }>[];
}

/** Whether a row's target_agents (a virtual host's, a file's) takes an agent with these labels; throws for a bad selector. */
export function targetsLabels(row: { targetAgents: TargetAgents }, labels: Labels): boolean {
  const target = row.targetAgents;
  if (target.type === "all") return true;
  return matchesSelector(parseSelector(target.labelSelector), labels);
}

/**
 * The virtual hosts an agent serves: those of its workspace whose
 * target_agents is `all` or whose label selector matches its labels. An
 * unassigned agent serves none. A stored selector that no longer parses
 * matches no agent, but every agent of the workspace reports it set aside, so
 * the operator learns why the host is not served.
 */
export function hostsForAgent(agent: AgentRow, hosts: readonly VirtualHostRow[]): Targeting {
  const targeted: VirtualHostRow[] = [];
  const setAside: Targeting["setAside"] = [];
  if (agent.workspaceId === null) return { targeted, setAside };
  for (const host of hosts) {
    if (host.workspaceId !== agent.workspaceId) continue;
    let matches: boolean;
    try {
      matches = targetsLabels(host, agent.labels);
    } catch (error) {
      if (!isDroverError(error)) throw error;
      setAside.push({
        id: host.id,
        status: "set_aside",
        reason: `target_agents: ${error.message}`,
        field: "target_agents.label_selector",
      });
      continue;
    }
    if (matches) targeted.push(host);
  }
  return { targeted, setAside };
}
