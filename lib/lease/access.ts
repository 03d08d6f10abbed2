import { type MemberRole, type Principal, requireRead, roleIn } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import type { Store, WorkspaceRow } from "../store/index.ts";
import { type LeaseHolder, roleRank } from "./policy.ts";
import { type LeaseClient, leaseClientOf } from "./types.ts";

const FLEET = "*";

/** The workspace a principal may see, or not_found (ids do not leak across organizations). */
export async function readableWorkspace(
  store: Store,
  principal: Principal,
  workspaceId: string,
): Promise<WorkspaceRow> {
  const workspace = await store.workspaces.get(workspaceId);
  // A fleet-wide role reads every organization: an unknown id must still be not found.
  if (!workspace) throw new DroverError("not_found", `workspace ${workspaceId} not found`);
  requireRead(principal, workspace.organizationId, `workspace ${workspaceId}`);
  return workspace;
}

/** The principal as a lease holder in an organization. */
export function holderOf(principal: Principal, organizationId: string): LeaseHolder {
  const role = roleIn(principal, organizationId);
  return { client: leaseClientOf(principal), ...(role ? { role } : {}) };
}

/** Lease clients as the scheduler judges them: by today's memberships and certificates. */
export interface Holders {
  /** The client as a lease holder in an organization; no role: it may no longer hold leases there. */
  of(client: LeaseClient, organizationId: string): LeaseHolder;
  /** When an operator client's last live certificate expires (its leases end then). */
  credentialEnds(client: LeaseClient): Date | undefined;
}

const USER = "user:";
const OPERATOR = "operator:";

function idsWith(prefix: string, clients: ReadonlyArray<{ client: string }>): string[] {
  const ids = clients.filter((c) => c.client.startsWith(prefix));
  return [...new Set(ids.map((c) => c.client.slice(prefix.length)))];
}

/**
 * The roles of lease clients in organizations, read now, so the scheduler
 * judges queued and held leases by today's access. A user has the roles of
 * their memberships (none left: their leases end as ClientRemoved). An
 * operator acts as a fleet-wide owner while it holds a certificate that is
 * neither revoked nor expired, as the operator listeners admit it; with
 * none left it is gone like a deleted user.
 */
export async function holdersOf(
  store: Store,
  clients: ReadonlyArray<{ client: string }>,
  now: Date,
): Promise<Holders> {
  const userIds = idsWith(USER, clients);
  const operatorIds = idsWith(OPERATOR, clients);
  const memberships = userIds.length === 0 ? [] : await store.memberships.listForUsers(userIds);
  const credentials =
    operatorIds.length === 0
      ? new Map<string, Date>()
      : await store.certificates.validUntil("operator", operatorIds, now);
  const roles = new Map<string, MemberRole>();
  for (const membership of memberships)
    roles.set(`${USER}${membership.userId}|${membership.scope}`, membership.role);
  const credentialEnds = (client: LeaseClient) =>
    client.startsWith(OPERATOR) ? credentials.get(client.slice(OPERATOR.length)) : undefined;
  return {
    credentialEnds,
    of(client, organizationId) {
      if (client.startsWith(OPERATOR)) {
        return credentialEnds(client) ? { client, role: "owner" } : { client };
      }
      const found = [roles.get(`${client}|${FLEET}`), roles.get(`${client}|${organizationId}`)]
        .filter((role): role is MemberRole => role !== undefined)
        .sort((a, b) => roleRank[b] - roleRank[a])[0];
      return { client, ...(found ? { role: found } : {}) };
    },
  };
}
