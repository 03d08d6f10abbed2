import { type Principal, requireRead } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import type { Store, StoredLease } from "../store/index.ts";
import { inServiceOrder } from "./queue.ts";
import type { LeaseView } from "./types.ts";

/** How callers read leases: only what they may see, with pending leases' places in the queue. */
export interface LeaseReads {
  /** The stored lease if the principal may read it; not_found otherwise. */
  readable(principal: Principal, name: string): Promise<StoredLease>;
  /** The lease as the principal sees it now. */
  fresh(principal: Principal, name: string): Promise<LeaseView>;
  /** Leases with their queue positions (1-based within their workspace, in service order). */
  withPositions(leases: StoredLease[]): Promise<LeaseView[]>;
}

/** A stored lease as callers see it: without the scheduler's bookkeeping. */
export function view(lease: StoredLease, position?: number): LeaseView {
  const { warnedAt: _warned, ...rest } = lease;
  return position === undefined ? rest : { ...rest, queuePosition: position };
}

export function createLeaseReads(store: Store): LeaseReads {
  async function withPositions(leases: StoredLease[]): Promise<LeaseView[]> {
    const pending = leases.some((lease) => lease.phase === "Pending")
      ? inServiceOrder(
          await store.leases.list({
            phases: ["Pending"],
            workspaceIds: [...new Set(leases.map((l) => l.workspaceId))],
          }),
        )
      : [];
    const positions = new Map<string, number>();
    const counters = new Map<string, number>();
    for (const lease of pending) {
      const n = (counters.get(lease.workspaceId) ?? 0) + 1;
      counters.set(lease.workspaceId, n);
      positions.set(lease.name, n);
    }
    return leases.map((lease) => view(lease, positions.get(lease.name)));
  }

  async function readable(principal: Principal, name: string): Promise<StoredLease> {
    const lease = await store.leases.get(name);
    // A fleet-wide role reads every organization: an unknown name must still be not found.
    if (!lease) throw new DroverError("not_found", `lease ${name} not found`);
    requireRead(principal, lease.organizationId, `lease ${name}`);
    return lease;
  }

  return {
    readable,
    withPositions,
    async fresh(principal, name) {
      const [lease] = await withPositions([await readable(principal, name)]);
      return lease as LeaseView;
    },
  };
}
