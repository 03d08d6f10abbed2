import type { MemberRole } from "../auth/index.ts";
import { DroverError, invalidField } from "../errors/index.ts";
import { type Labels, matchesSelector } from "../selector/index.ts";
import { HOUR_MS, MAX_LEASE_DURATION_MS, MAX_PRIORITY, MIN_PRIORITY } from "./limits.ts";
import { checkSelector } from "./request.ts";
import type { LeaseClient, LeasePolicy } from "./types.ts";

/** A workspace without policies: its organization's admins and owners, any exporter, 24 h, priority 0. */
export const DEFAULT_LEASE_POLICY: LeasePolicy = {
  name: "default",
  principals: ["role:admin"],
  exporterSelector: [],
  maxDurationMs: 24 * HOUR_MS,
  maxPriority: 0,
};

/** Who is leasing, as policies see them: the client string and their role in the workspace's organization. */
export interface LeaseHolder {
  client: LeaseClient;
  /** Highest of the organization role and a fleet-wide role; an operator certificate is an owner. */
  role?: MemberRole;
}

/** What the applicable policies allow on one exporter: the most generous of them. */
export interface Allowance {
  maxDurationMs: number;
  maxPriority: number;
}

/** Member roles in order: a policy for a role covers the roles above it. */
export const roleRank: Readonly<Record<MemberRole, number>> = { viewer: 1, admin: 2, owner: 3 };

/** The policies in force: the stored ones, or the default when there are none. */
export function effectivePolicies(stored: readonly LeasePolicy[]): readonly LeasePolicy[] {
  return stored.length === 0 ? [DEFAULT_LEASE_POLICY] : stored;
}

function principalMatches(entry: string, holder: LeaseHolder): boolean {
  if (entry === "*") return holder.role !== undefined;
  if (entry.startsWith("role:")) {
    const wanted = entry.slice("role:".length) as MemberRole;
    return holder.role !== undefined && roleRank[holder.role] >= roleRank[wanted];
  }
  return entry === holder.client;
}

/** The most generous allowance of the policies covering this holder and exporter; undefined: no access. */
export function allowanceFor(
  policies: readonly LeasePolicy[],
  holder: LeaseHolder,
  exporterLabels: Labels,
): Allowance | undefined {
  let allowance: Allowance | undefined;
  for (const policy of effectivePolicies(policies)) {
    if (!policy.principals.some((entry) => principalMatches(entry, holder))) continue;
    if (!matchesSelector(policy.exporterSelector, exporterLabels)) continue;
    allowance = {
      maxDurationMs: Math.max(allowance?.maxDurationMs ?? 0, policy.maxDurationMs),
      maxPriority: Math.max(allowance?.maxPriority ?? MIN_PRIORITY, policy.maxPriority),
    };
  }
  return allowance;
}

const principalPattern = /^(\*|role:(viewer|admin|owner)|user:[\w.:-]+|operator:[\w.:-]+)$/;
const namePattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Refuses a policy list that is not well formed, naming the field (`policies.1.max_duration_ms`). */
export function checkPolicies(policies: readonly LeasePolicy[]): void {
  const names = new Set<string>();
  policies.forEach((policy, index) => {
    const at = `policies.${index}`;
    if (typeof policy.name !== "string" || !namePattern.test(policy.name)) {
      throw invalidField(`${at}.name`, "must be a lowercase DNS label");
    }
    if (names.has(policy.name)) throw invalidField(`${at}.name`, `duplicate name ${policy.name}`);
    names.add(policy.name);
    if (!Array.isArray(policy.principals) || policy.principals.length === 0) {
      throw invalidField(`${at}.principals`, "must list at least one principal");
    }
    policy.principals.forEach((entry, i) => {
      if (typeof entry !== "string" || !principalPattern.test(entry)) {
        throw invalidField(
          `${at}.principals.${i}`,
          'must be "*", "role:viewer|admin|owner", "user:<id>" or "operator:<id>"',
        );
      }
    });
    checkSelector(policy.exporterSelector, `${at}.exporter_selector`);
    const { maxDurationMs, maxPriority } = policy;
    if (
      !Number.isInteger(maxDurationMs) ||
      maxDurationMs <= 0 ||
      maxDurationMs > MAX_LEASE_DURATION_MS
    ) {
      throw invalidField(`${at}.max_duration_ms`, "must be a positive integer up to 30 days");
    }
    if (
      !Number.isInteger(maxPriority) ||
      maxPriority < MIN_PRIORITY ||
      maxPriority > MAX_PRIORITY
    ) {
      throw invalidField(
        `${at}.max_priority`,
        `must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}`,
      );
    }
  });
  if (policies.length > 100) {
    throw new DroverError("invalid_argument", "policies: at most 100 per workspace");
  }
}
