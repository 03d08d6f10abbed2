import type { Member } from "./admin-types.ts";
import { listAll } from "./api.ts";
import type { Exporter, Lease } from "./lease-types.ts";
import type { LiveEvent } from "./live.ts";
import { loadWorkspaces } from "./workspaces.ts";

/** What the lease pages show of one workspace: its exporters, its queue and who holds what. */
export interface LeaseWorkspace {
  exporters: Exporter[];
  leases: Lease[];
  /** Member user id → email, to name lease holders. */
  emails: ReadonlyMap<string, string>;
}

async function memberEmails(workspaceId: string): Promise<ReadonlyMap<string, string>> {
  const workspace = (await loadWorkspaces()).find((choice) => choice.id === workspaceId);
  if (!workspace) return new Map();
  const members = await listAll<Member>(`/v1/organizations/${workspace.organization_id}/members`);
  return new Map(members.map((member) => [member.user_id, member.email]));
}

/** One workspace's exporters, its lease queue (as the API orders it) and its members' emails. */
export async function loadLeaseWorkspace(workspaceId: string): Promise<LeaseWorkspace> {
  const base = `/v1/workspaces/${workspaceId}`;
  const [exporters, leases, emails] = await Promise.all([
    listAll<Exporter>(`${base}/exporters`),
    listAll<Lease>(`${base}/leases`),
    memberEmails(workspaceId),
  ]);
  return { exporters, leases, emails };
}

/**
 * Events that change what the lease pages show of `workspaceId`: every lease.* and exporter.*
 * event of it except the driver-call audit trail, which changes no status, holder or queue.
 */
export function changesLeaseWorkspace(event: LiveEvent, workspaceId: string): boolean {
  if (event.data.workspace_id !== workspaceId) return false;
  if (event.type === "exporter.driver_called") return false;
  return event.type.startsWith("lease.") || event.type.startsWith("exporter.");
}
