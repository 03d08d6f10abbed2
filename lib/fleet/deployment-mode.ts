import { noChanges } from "../events/index.ts";
import type { DeploymentMode } from "../store/index.ts";
import { agentPayload } from "./agents.ts";
import type { FleetDeps } from "./deps.ts";

/**
 * The deployment mode an agent's session hello reports, when it differs from
 * the record (the agent was restarted in a container, or out of one): the
 * record follows, with an `agent.updated` in the same transaction. The same
 * mode writes nothing.
 */
export async function recordDeploymentMode(
  deps: FleetDeps,
  id: string,
  mode: DeploymentMode,
): Promise<void> {
  await deps.events.commit(async (tx) => {
    const agent = await tx.agents.get(id);
    if (agent === null || agent.deploymentMode === mode) return;
    const updated = await tx.agents.update(id, { deploymentMode: mode }, deps.clock.now());
    await tx.emit({
      type: "agent.updated",
      subjectId: id,
      data: {
        ...agentPayload(updated),
        deployment_mode: mode,
        previous_deployment_mode: agent.deploymentMode,
      },
      // Hosts and files are chosen by labels and workspace, never by the mode.
      changes: noChanges,
    });
  });
}
