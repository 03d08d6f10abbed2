import { type Principal, requireWrite } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import type { EventBus } from "../events/index.ts";
import type { Store, StoredLease } from "../store/index.ts";
import type { Clock } from "../time/index.ts";
import { holdersOf } from "./access.ts";
import { allowanceFor } from "./policy.ts";
import { type LeaseReads, view } from "./reads.ts";
import { endLease, leasePayload, lost, transition } from "./transitions.ts";
import { type LeaseExtension, type LeaseService, leaseClientOf } from "./types.ts";

export interface HolderOpsDeps {
  store: Store;
  events: EventBus;
  clock: Clock;
  reads: LeaseReads;
  /** An extension moved the lease's deadline: tell the scheduler (a release is heard as its event). */
  dueAt: (lease: StoredLease) => void;
}

function changedMeanwhile(name: string): DroverError {
  return new DroverError("failed_precondition", `lease ${name} changed meanwhile; try again`);
}

/** The new end an extension asks for; never earlier than the current end. */
function extendedEnd(extension: LeaseExtension, end: number, now: number): number {
  if ("byMs" in extension) {
    if (!Number.isInteger(extension.byMs) || extension.byMs <= 0) {
      throw new DroverError("invalid_argument", "by: must be a positive duration");
    }
    return end + extension.byMs;
  }
  if (!Number.isInteger(extension.fromNowMs) || extension.fromNowMs <= 0) {
    throw new DroverError("invalid_argument", "from_now: must be a positive duration");
  }
  const newEnd = now + extension.fromNowMs;
  if (newEnd < end) {
    throw new DroverError(
      "invalid_argument",
      `from_now would end the lease at ${new Date(newEnd).toISOString()}, before its current end ${new Date(end).toISOString()}; an extension never shortens`,
    );
  }
  return newEnd;
}

/** What a lease's holder (or an admin of its organization) does with it: extend, release, dial. */
export function createHolderOps(
  deps: HolderOpsDeps,
): Pick<LeaseService, "extend" | "release" | "authorizeDial"> {
  const { store, events, clock, reads, dueAt } = deps;
  const isHolder = (principal: Principal, lease: StoredLease) =>
    lease.client === leaseClientOf(principal);

  /** The longest the policies in force let this lease's holder keep its exporter, from the grant. */
  async function maxDurationOf(lease: StoredLease, exporterId: string): Promise<number> {
    const exporter = await store.exporters.get(exporterId);
    if (!exporter) return 0;
    const holders = await holdersOf(store, [lease], clock.now());
    const allowance = allowanceFor(
      await store.leasePolicies.list(lease.workspaceId),
      holders.of(lease.client, lease.organizationId),
      exporter.labels,
    );
    return allowance?.maxDurationMs ?? 0;
  }

  return {
    async extend(principal, name, extension) {
      const lease = await reads.readable(principal, name);
      if (!isHolder(principal, lease))
        requireWrite(principal, lease.organizationId, `lease ${name}`);
      const { endTime, beginTime, exporterId } = lease;
      if (lease.phase !== "Ready" || !endTime || !beginTime || exporterId === undefined) {
        throw new DroverError("failed_precondition", `lease ${name} is ${lease.phase}, not Ready`);
      }
      const newEnd = extendedEnd(extension, endTime.getTime(), clock.now().getTime());
      const maxDurationMs = await maxDurationOf(lease, exporterId);
      const capEnd = beginTime.getTime() + maxDurationMs;
      if (newEnd > capEnd) {
        throw new DroverError(
          "failed_precondition",
          `the lease policy caps lease ${name} at ${maxDurationMs} ms from its begin time (until ${new Date(capEnd).toISOString()})`,
        );
      }
      const extended = await transition(events, async (tx) => {
        const updated = (await tx.leases.extend(name, endTime, new Date(newEnd))) ?? lost();
        await tx.emit({
          type: "lease.extended",
          subjectId: name,
          data: {
            ...leasePayload(updated),
            end_time: new Date(newEnd).toISOString(),
            previous_end_time: endTime.toISOString(),
          },
          changes: { leases: [name], exporters: [exporterId] },
        });
        return updated;
      });
      if (!extended) throw changedMeanwhile(name);
      dueAt(extended);
      return view(extended);
    },

    async release(principal, name, expectedClient) {
      const lease = await reads.readable(principal, name);
      const holder = isHolder(principal, lease);
      if (!holder) {
        requireWrite(principal, lease.organizationId, `lease ${name}`);
        if (expectedClient === undefined) {
          throw new DroverError(
            "failed_precondition",
            `lease ${name} is held by ${lease.client}: name the holder you expect to force-release it`,
          );
        }
      }
      if (expectedClient !== undefined && expectedClient !== lease.client) {
        throw new DroverError(
          "failed_precondition",
          `lease ${name} is held by ${lease.client}, not ${expectedClient}`,
        );
      }
      if (lease.phase === "Ended") {
        throw new DroverError(
          "failed_precondition",
          `lease ${name} already ended (${lease.reason})`,
        );
      }
      const reason = holder ? "Released" : "ForceReleased";
      const message = holder ? "" : `released by ${leaseClientOf(principal)}`;
      const ended = await transition(events, (tx) =>
        endLease(tx, lease, { reason, message }, clock.now()),
      );
      if (!ended) throw changedMeanwhile(name);
      return view(ended);
    },

    async authorizeDial(principal, name) {
      const lease = await reads.readable(principal, name);
      if (!isHolder(principal, lease)) {
        throw new DroverError("permission_denied", `lease ${name} is held by another client`);
      }
      if (
        lease.phase !== "Ready" ||
        lease.exporterId === undefined ||
        lease.fencingToken === undefined
      ) {
        throw new DroverError(
          "failed_precondition",
          `lease ${name} is ${lease.phase} (${lease.reason}), not Ready`,
        );
      }
      if ((lease.endTime?.getTime() ?? 0) <= clock.now().getTime()) {
        throw new DroverError("failed_precondition", `lease ${name} expired`);
      }
      return { lease: view(lease), exporterId: lease.exporterId, fencingToken: lease.fencingToken };
    },
  };
}
