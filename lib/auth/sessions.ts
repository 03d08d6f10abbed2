import { createHash, randomBytes } from "node:crypto";
import { DroverError, invalidField } from "../errors/index.ts";
import type { KeyPair } from "../pki/index.ts";
import type { Store } from "../store/index.ts";
import type { Clock } from "../time/index.ts";
import { issueAccessToken, verifyAccessToken } from "./access-tokens.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import type { Principal } from "./principal.ts";

export interface SessionDeps {
  store: Store;
  clock: Clock;
  /** Signs access tokens; separate from the CA and join-token keys. */
  sessionKeys: KeyPair;
  accessTtlMs: number;
  refreshTtlMs: number;
  /** How long a just-rotated refresh token still refreshes (a concurrent duplicate); 10 s without. */
  refreshReuseGraceMs?: number;
}

const defaultRefreshReuseGraceMs = 10_000;

/** The NxMesh login response. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tokenType: "Bearer";
  /** Whose tokens these are (not part of the NxMesh answer). */
  userId: string;
}

function refreshTokenId(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

// Unknown emails still pay for one hash, so timing does not tell which emails exist.
let decoyHash: Promise<string> | undefined;

async function issuePair(deps: SessionDeps, userId: string, familyId: string): Promise<TokenPair> {
  const now = deps.clock.now();
  const access = await issueAccessToken(deps.sessionKeys.privateKey, userId, now, deps.accessTtlMs);
  const refreshToken = randomBytes(32).toString("base64url");
  await deps.store.refreshTokens.insert({
    id: refreshTokenId(refreshToken),
    familyId,
    userId,
    createdAt: now,
    expiresAt: new Date(now.getTime() + deps.refreshTtlMs),
  });
  return {
    accessToken: access.token,
    refreshToken,
    expiresIn: Math.round(deps.accessTtlMs / 1000),
    tokenType: "Bearer",
    userId,
  };
}

export async function login(
  deps: SessionDeps,
  email: string,
  password: string,
): Promise<TokenPair> {
  if (email === "") throw invalidField("email", "is required");
  if (password === "") throw invalidField("password", "is required");
  const user = await deps.store.users.getByEmail(email);
  decoyHash ??= hashPassword(randomBytes(16).toString("hex"));
  const matches = await verifyPassword(password, user?.passwordHash ?? (await decoyHash));
  if (!user || !matches) throw new DroverError("unauthenticated", "invalid email or password");
  return issuePair(deps, user.id, randomBytes(16).toString("hex"));
}

/**
 * Rotates a refresh token: the presented one dies, a new pair is issued in
 * the same family. Presenting a dead one again means it leaked, so the whole
 * family (every token descended from that login) is revoked — unless it died
 * within the grace: two tabs refreshing at once send the same token, and the
 * loser gets its own pair in the family instead of logging both out.
 */
export async function refresh(deps: SessionDeps, refreshToken: string): Promise<TokenPair> {
  if (refreshToken === "") throw invalidField("refresh_token", "is required");
  const id = refreshTokenId(refreshToken);
  const now = deps.clock.now();
  const used = await deps.store.refreshTokens.use(id, now);
  if (used) return issuePair(deps, used.userId, used.familyId);
  const known = await deps.store.refreshTokens.get(id);
  if (known?.usedAt && !known.revokedAt) {
    const grace = deps.refreshReuseGraceMs ?? defaultRefreshReuseGraceMs;
    const sinceUse = now.getTime() - known.usedAt.getTime();
    if (sinceUse <= grace && known.expiresAt > now)
      return issuePair(deps, known.userId, known.familyId);
    await deps.store.refreshTokens.revokeFamily(known.familyId, now);
    throw new DroverError(
      "unauthenticated",
      "refresh token reused; every session of this login is revoked",
    );
  }
  throw new DroverError(
    "unauthenticated",
    "refresh token invalid, expired or revoked; log in again",
  );
}

/**
 * Signing out: every token of the refresh token's family is revoked (used or
 * not), so neither this one nor any it was rotated into refreshes again.
 * An unknown token revokes nothing and is not an error: signing out twice is fine.
 */
export async function logout(deps: SessionDeps, refreshToken: string): Promise<void> {
  const known = await deps.store.refreshTokens.get(refreshTokenId(refreshToken));
  if (known) await deps.store.refreshTokens.revokeFamily(known.familyId, deps.clock.now());
}

/** Reads the principal's roles from the store, so a change applies at the next request. */
export async function principalForUser(store: Store, userId: string): Promise<Principal> {
  if (!(await store.users.get(userId)))
    throw new DroverError("unauthenticated", "user no longer exists");
  const memberships = await store.memberships.listForUser(userId);
  const fleet = memberships.find((membership) => membership.scope === "*");
  return {
    kind: "user",
    id: userId,
    fleetRole: fleet?.role,
    organizationRoles: new Map(
      memberships
        .filter((membership) => membership.scope !== "*")
        .map((membership) => [membership.scope, membership.role]),
    ),
  };
}

export async function authenticateBearer(deps: SessionDeps, token: string): Promise<Principal> {
  return (await authenticateBearerUntil(deps, token)).principal;
}

/** The principal and when its token stops being valid, for connections that outlive a request. */
export async function authenticateBearerUntil(
  deps: SessionDeps,
  token: string,
): Promise<{ principal: Principal; expiresAt: Date }> {
  const claims = await verifyAccessToken(deps.sessionKeys.publicKey, token, deps.clock.now());
  return {
    principal: await principalForUser(deps.store, claims.userId),
    expiresAt: claims.expiresAt,
  };
}
