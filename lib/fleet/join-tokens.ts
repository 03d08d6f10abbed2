import { invalidField } from "../errors/index.ts";
import { newNonceId, type Role, signJoinToken } from "../pki/index.ts";
import { validateLabels } from "../selector/index.ts";
import type { FleetDeps } from "./deps.ts";
import { checkName } from "./validate.ts";

export interface CreateJoinTokenInput {
  role: Role;
  labels?: Record<string, string>;
  /** Default one hour; at most 30 days. */
  ttlMs?: number;
  name?: string;
  /** Agents that join with this token land in this workspace. */
  workspaceId?: string;
}

export interface CreatedJoinToken {
  token: string;
  nonceId: string;
  expiresAt: Date;
}

const defaultTtlMs = 3_600_000;
const maxTtlMs = 30 * 86_400_000;

export async function createJoinToken(
  deps: FleetDeps,
  input: CreateJoinTokenInput,
): Promise<CreatedJoinToken> {
  const labels = input.labels ?? {};
  validateLabels(labels, "labels");
  if (input.name !== undefined && input.name !== "") checkName("name", input.name);
  const ttlMs = input.ttlMs ?? defaultTtlMs;
  if (!Number.isInteger(ttlMs) || ttlMs < 1000 || ttlMs > maxTtlMs) {
    throw invalidField("ttl", "must be between 1s and 30d");
  }
  const now = deps.clock.now();
  // JWT expiry has second precision; store the same instant the token carries.
  const expiresAt = new Date(Math.floor((now.getTime() + ttlMs) / 1000) * 1000);
  const nonceId = newNonceId();
  const name = input.name || undefined;
  const token = await signJoinToken(deps.authority.tokenKeys.privateKey, {
    nonceId,
    role: input.role,
    labels,
    name,
    expiresAt,
    caHash: deps.authority.ca.publicKeyHash,
    fleetId: deps.authority.ca.fleetId,
  });
  await deps.store.joinTokens.insert({
    nonceId,
    role: input.role,
    labels,
    name: name ?? null,
    createdAt: now,
    expiresAt,
    workspaceId: input.workspaceId ?? null,
  });
  await deps.events.publish({
    type: "token.created",
    subjectId: nonceId,
    data: { role: input.role, labels, workspace_id: input.workspaceId ?? null },
  });
  return { token, nonceId, expiresAt };
}

export async function revokeJoinToken(deps: FleetDeps, nonceId: string): Promise<void> {
  if (nonceId === "") throw invalidField("nonce_id", "is required");
  await deps.store.joinTokens.revoke(nonceId, deps.clock.now());
  await deps.events.publish({ type: "token.revoked", subjectId: nonceId });
}
