import type { Changes } from "../events/index.ts";
import type { Repositories } from "../store/index.ts";

const page = 1000;

/**
 * What deleting these workspaces touches, read in the deleting transaction
 * before the delete: the workspaces, and their agents, which stay unassigned
 * (ON DELETE SET NULL) and lose the workspaces' files, secrets and hosts.
 */
export async function workspacesCascade(
  tx: Repositories,
  workspaceIds: string[],
): Promise<Required<Pick<Changes, "workspaces" | "agents">>> {
  const agents: string[] = [];
  if (workspaceIds.length > 0) {
    for (let afterId: string | undefined; ; ) {
      const rows = await tx.agents.list({
        workspaceIds,
        limit: page,
        ...(afterId === undefined ? {} : { afterId }),
      });
      agents.push(...rows.map((agent) => agent.id));
      if (rows.length < page) break;
      afterId = rows.at(-1)?.id;
    }
  }
  return { workspaces: workspaceIds, agents };
}

/** The organization's workspaces (deleted with it, ON DELETE CASCADE) and their agents. */
export async function organizationCascade(
  tx: Repositories,
  organizationId: string,
): Promise<Required<Pick<Changes, "workspaces" | "agents">>> {
  const workspaceIds: string[] = [];
  for (let offset = 0; ; offset += page) {
    const rows = await tx.workspaces.list({ organizationId, limit: page, offset });
    workspaceIds.push(...rows.map((workspace) => workspace.id));
    if (rows.length < page) break;
  }
  return workspacesCascade(tx, workspaceIds);
}
