import type { LeaseCondition, LeasePhase, UnsatisfiableReason } from "./types.ts";

const unsatisfiable: ReadonlySet<string> = new Set<UnsatisfiableReason>([
  "NoMatch",
  "NoAccess",
  "DurationExceedsPolicy",
]);

/** Whether an Ended lease's reason says it could never be granted. */
export function isUnsatisfiableReason(reason: string): reason is UnsatisfiableReason {
  return unsatisfiable.has(reason);
}

type Status = LeaseCondition["status"];

/**
 * The seed's Kubernetes-style conditions for a lease in `phase` for `reason`:
 * Pending (True while waiting, with why), Ready (True while held; False with
 * the end reason), and Unsatisfiable (True for a request nothing can grant).
 * A condition whose status did not change keeps its lastTransitionTime.
 */
export function leaseConditions(
  lease: { phase: LeasePhase; reason: string; message: string },
  previous: readonly LeaseCondition[],
  now: Date,
): LeaseCondition[] {
  const { phase, reason, message } = lease;
  const wanted: Array<[LeaseCondition["type"], Status, string]> =
    phase === "Pending"
      ? [
          ["Pending", "True", reason],
          ["Ready", "False", "Pending"],
        ]
      : phase === "Ready"
        ? [
            ["Pending", "False", "Acquired"],
            ["Ready", "True", "Ready"],
          ]
        : [
            ["Pending", "False", reason],
            ["Ready", "False", reason],
            ...(isUnsatisfiableReason(reason)
              ? [["Unsatisfiable", "True", reason] as [LeaseCondition["type"], Status, string]]
              : []),
          ];
  return wanted.map(([type, status, why]) => {
    const before = previous.find((condition) => condition.type === type);
    return {
      type,
      status,
      reason: why,
      message,
      lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now,
    };
  });
}
