export { holderOf } from "./access.ts";
export { isUnsatisfiableReason, leaseConditions } from "./conditions.ts";
export { MAX_LEASE_DURATION_MS, MAX_PRIORITY, MIN_PRIORITY } from "./limits.ts";
export {
  type Allowance,
  allowanceFor,
  checkPolicies,
  DEFAULT_LEASE_POLICY,
  effectivePolicies,
  type LeaseHolder,
} from "./policy.ts";
export { compareServiceOrder, inServiceOrder, type Queued } from "./queue.ts";
export { checkSelector, type ValidRequest, validateLeaseRequest } from "./request.ts";
export {
  type ScheduleExporter,
  type SchedulePending,
  type SchedulePlan,
  schedule,
  usableExporters,
} from "./schedule.ts";
export { createLeaseService, type LeaseEngine, type LeaseServiceDeps } from "./service.ts";
export * from "./types.ts";
