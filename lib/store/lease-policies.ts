import { asc, eq, inArray } from "drizzle-orm";
import type { LeasePolicy } from "./lease-records.ts";
import type { Runner } from "./runner.ts";
import { leasePolicies } from "./schema.ts";
import { plain } from "./validate.ts";

export interface LeasePolicyRepository {
  /** In the order they were set; none: the workspace uses the default. */
  list(workspaceId: string): Promise<LeasePolicy[]>;
  /** Several workspaces' at once (the scheduler's pass). */
  listFor(workspaceIds: readonly string[]): Promise<Map<string, LeasePolicy[]>>;
  /** Replaces the workspace's policies; call inside a transaction so readers see old or new. */
  replace(workspaceId: string, policies: readonly LeasePolicy[]): Promise<void>;
}

type Row = typeof leasePolicies.$inferSelect;

function toPolicy(row: Row): LeasePolicy {
  return {
    name: row.name,
    principals: row.principals,
    exporterSelector: row.exporterSelector,
    maxDurationMs: row.maxDurationMs,
    maxPriority: row.maxPriority,
  };
}

export function createLeasePolicyRepository(run: Runner): LeasePolicyRepository {
  return {
    list: (workspaceId) =>
      run(async (db) =>
        (
          await db
            .select()
            .from(leasePolicies)
            .where(eq(leasePolicies.workspaceId, workspaceId))
            .orderBy(asc(leasePolicies.position))
        ).map(toPolicy),
      ),

    listFor: (workspaceIds) =>
      run(async (db) => {
        const byWorkspace = new Map<string, LeasePolicy[]>(workspaceIds.map((id) => [id, []]));
        if (workspaceIds.length === 0) return byWorkspace;
        const rows = await db
          .select()
          .from(leasePolicies)
          .where(inArray(leasePolicies.workspaceId, [...workspaceIds]))
          .orderBy(asc(leasePolicies.workspaceId), asc(leasePolicies.position));
        for (const row of rows) byWorkspace.get(row.workspaceId)?.push(toPolicy(row));
        return byWorkspace;
      }),

    replace: (workspaceId, policies) =>
      run(async (db) => {
        await db.delete(leasePolicies).where(eq(leasePolicies.workspaceId, workspaceId));
        if (policies.length === 0) return;
        await db.insert(leasePolicies).values(
          policies.map((policy, position) => ({
            workspaceId,
            position,
            name: policy.name,
            principals: [...policy.principals],
            exporterSelector: policy.exporterSelector.map((term) => plain(term)),
            maxDurationMs: policy.maxDurationMs,
            maxPriority: policy.maxPriority,
          })),
        );
      }),
  };
}
