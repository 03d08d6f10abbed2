import { invalidField } from "../errors/index.ts";
import { noChanges } from "../events/index.ts";
import { newNonceId, type Role, signJoinToken } from "../pki/index.ts";
import { validateLabels } from "../selector/index.ts";
import type { FleetDeps } from "./deps.ts";
import { newIdentityId } from "./ids.ts";
import { checkName } from "./validate.ts";

export interface CreateJoinTokenInput {
  role: Role;
  labels?: Record<string, string>;
  /**
   * Whether labels the agent claims at join (`drover agent --label`) become
   * labels selectors match; default false: they are only recorded.
   */
  allowSelfLabels?: boolean;
  /** Default one hour; at most 30 days. */
  ttlMs?: number;
  name?: string;
  /** Agents that join with this token land in this workspace. */
  workspaceId?: string;
}

export interface CreatedJoinToken {
  token: string;
  nonceId: string;
  /** Agent tokens: the id the agent will have, reserved by the token's signed claims. */
  agentId: string | null;
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
  if (input.allowSelfLabels !== undefined && typeof input.allowSelfLabels !== "boolean") {
    throw invalidField("allow_self_labels", "must be a boolean");
  }
  const allowSelfLabels = input.allowSelfLabels === true;
  // Chosen here, not at join, so the caller knows the agent's id before it exists (NxMesh).
  const agentId = input.role === "agent" ? newIdentityId("agent") : null;
  const token = await signJoinToken(deps.authority.tokenKeys.privateKey, {
    nonceId,
    role: input.role,
    labels,
    ...(allowSelfLabels ? { allowSelfLabels } : {}),
    name,
    ...(agentId === null ? {} : { agentId }),
    expiresAt,
    caHash: deps.authority.ca.publicKeyHash,
    fleetId: deps.authority.ca.fleetId,
  });
  await deps.events.commit(async (tx) => {
    await tx.joinTokens.insert({
      nonceId,
      role: input.role,
      labels,
      name: name ?? null,
      createdAt: now,
      expiresAt,
      workspaceId: input.workspaceId ?? null,
      allowSelfLabels,
    });
    await tx.emit({
      type: "token.created",
      subjectId: nonceId,
      data: {
        role: input.role,
        labels,
        allow_self_labels: allowSelfLabels,
        workspace_id: input.workspaceId ?? null,
      },
      changes: noChanges,
    });
  });
  return { token, nonceId, agentId, expiresAt };
}

export async function revokeJoinToken(deps: FleetDeps, nonceId: string): Promise<void> {
  if (nonceId === "") throw invalidField("nonce_id", "is required");
  await deps.events.commit(async (tx) => {
    await tx.joinTokens.revoke(nonceId, deps.clock.now());
    await tx.emit({ type: "token.revoked", subjectId: nonceId, data: {}, changes: noChanges });
  });
}
