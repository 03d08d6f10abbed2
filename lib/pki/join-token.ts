import { decodeJwt, errors, type JWTPayload, jwtVerify, SignJWT } from "jose";
import { DroverError, type ErrorCode } from "../errors/index.ts";
import { randomBytes, toHex } from "./encoding.ts";
import { isRole, isValidId, type Role } from "./identity.ts";
import { assertP256Key } from "./keys.ts";

/**
 * Claims of a join token. `expiresAt` travels as the JWT `exp` claim, which is in
 * whole seconds: it is truncated to the second on signing, so a decoded token's
 * expiresAt may be up to 999 ms earlier than the one passed in, never later.
 */
export interface JoinTokenClaims {
  nonceId: string;
  role: Role;
  labels: Record<string, string>;
  /**
   * Whether the labels the agent claims at join become its own, so that
   * selectors match them; absent: they are only recorded (claim `self_labels`).
   */
  allowSelfLabels?: boolean;
  name?: string;
  /**
   * Agent tokens: the id the agent gets when it joins, chosen by the server
   * when it creates the token (claim `agent_id`); signed, so the agent cannot
   * choose its own. Absent on operator tokens and on tokens made before ids
   * were reserved: the agent then gets a fresh id.
   */
  agentId?: string;
  expiresAt: Date;
  /** "sha256:<hex>" of the fleet CA's SubjectPublicKeyInfo (see publicKeyHash). */
  caHash: string;
  fleetId: string;
}

const issuer = "drover";
/** Explicit type so no other JWT signed by the same key can be replayed as a join token. */
const tokenType = "drover-join+jwt";
const algorithm = "ES256";
/** Real tokens are well under 1 KiB; the cap keeps hostile input cheap to reject. */
const maxTokenLength = 8 * 1024;
const caHashPattern = /^sha256:[0-9a-f]{64}$/;

/**
 * Random nonce id: 16 random bytes in lowercase hex. Hex, not base64url: an id
 * that starts with "-" would read as a flag on every command line.
 */
export function newNonceId(): string {
  return toHex(randomBytes(16));
}

/**
 * Signs a compact ES256 JWT: iss "drover", jti = nonceId, iat, exp, and a
 * "drover" claim {role, labels, self_labels?, name?, agent_id?, ca, fleet}. Header typ "drover-join+jwt",
 * kid when given.
 */
export async function signJoinToken(
  signingKey: CryptoKey,
  claims: JoinTokenClaims,
  options: { kid?: string } = {},
): Promise<string> {
  assertP256Key(signingKey, "private", "signingKey");
  const expiresAt = claims.expiresAt;
  if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
    throw new DroverError("invalid_argument", "expiresAt must be a valid Date");
  }
  const payload = { drover: droverClaim(claims) };
  // Round-trip through the same parser verify uses, so we never sign what we would reject.
  claimsFromPayload(
    { ...payload, iss: issuer, jti: claims.nonceId, exp: Math.floor(expiresAt.getTime() / 1000) },
    "invalid_argument",
  );
  return new SignJWT(payload)
    .setProtectedHeader({
      alg: algorithm,
      typ: tokenType,
      ...(options.kid === undefined ? {} : { kid: options.kid }),
    })
    .setIssuer(issuer)
    .setJti(claims.nonceId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(signingKey);
}

/**
 * Verifies signature (ES256 only), typ, issuer, expiry against `now` with no
 * clock tolerance, and claim shapes. Every failure is unauthenticated:
 * "join token expired" | "join token signature invalid" | "join token malformed: <why>".
 */
export async function verifyJoinToken(
  verifyKey: CryptoKey,
  token: string,
  now: Date = new Date(),
): Promise<JoinTokenClaims> {
  assertP256Key(verifyKey, "public", "verifyKey");
  checkTokenString(token, "unauthenticated");
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, verifyKey, {
      algorithms: [algorithm],
      issuer,
      typ: tokenType,
      currentDate: now,
      clockTolerance: 0,
      requiredClaims: ["jti", "exp", "iat"],
    }));
  } catch (cause) {
    throw verifyError(cause);
  }
  return claimsFromPayload(payload, "unauthenticated");
}

/**
 * Decodes WITHOUT verifying — the agent reads caHash/fleetId before it can reach
 * the server. Never trust the result for authorization.
 */
export function decodeJoinToken(token: string): JoinTokenClaims {
  checkTokenString(token, "invalid_argument");
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch (cause) {
    throw malformed(
      "invalid_argument",
      cause instanceof Error ? cause.message : "undecodable",
      cause,
    );
  }
  return claimsFromPayload(payload, "invalid_argument");
}

function droverClaim(claims: JoinTokenClaims): Record<string, unknown> {
  return {
    role: claims.role,
    labels: claims.labels,
    ...(claims.allowSelfLabels === true ? { self_labels: true } : {}),
    ...(claims.name === undefined ? {} : { name: claims.name }),
    ...(claims.agentId === undefined ? {} : { agent_id: claims.agentId }),
    ca: claims.caHash,
    fleet: claims.fleetId,
  };
}

function malformed(code: ErrorCode, why: string, cause?: unknown): DroverError {
  return new DroverError(code, `join token malformed: ${why}`, { cause });
}

function checkTokenString(token: unknown, code: ErrorCode): void {
  if (typeof token !== "string" || token.length === 0) {
    throw malformed(code, "empty");
  }
  if (token.length > maxTokenLength) throw malformed(code, "too long");
}

function verifyError(cause: unknown): DroverError {
  if (cause instanceof errors.JWTExpired) {
    return new DroverError("unauthenticated", "join token expired", { cause });
  }
  if (cause instanceof errors.JWSSignatureVerificationFailed) {
    return new DroverError("unauthenticated", "join token signature invalid", { cause });
  }
  if (cause instanceof errors.JOSEAlgNotAllowed || cause instanceof errors.JOSENotSupported) {
    return malformed("unauthenticated", `algorithm not accepted (only ${algorithm})`, cause);
  }
  return malformed("unauthenticated", cause instanceof Error ? cause.message : "invalid", cause);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The single shape check for signing, verifying and decoding. */
function claimsFromPayload(payload: Record<string, unknown>, code: ErrorCode): JoinTokenClaims {
  const fail = (why: string): never => {
    throw malformed(code, why);
  };
  if (payload.iss !== issuer) fail(`issuer must be "${issuer}"`);
  const { jti, exp, drover } = payload;
  if (typeof jti !== "string" || jti.length === 0) return fail("nonceId (jti) must be non-empty");
  if (typeof exp !== "number" || !Number.isSafeInteger(exp)) return fail("exp must be an integer");
  if (!isPlainObject(drover)) return fail('missing "drover" claim');
  const { role, labels, self_labels: selfLabels, name, agent_id: agentId, ca, fleet } = drover;
  if (!isRole(role)) return fail(`role must be "agent" or "operator"`);
  if (!isPlainObject(labels)) return fail("labels must be an object");
  const labelCopy: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== "string") return fail(`label ${JSON.stringify(key)} must be a string`);
    // defineProperty so a "__proto__" label stays data, never a prototype.
    Object.defineProperty(labelCopy, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (selfLabels !== undefined && selfLabels !== true) return fail("self_labels must be true");
  if (name !== undefined && typeof name !== "string") return fail("name must be a string");
  if (agentId !== undefined) {
    if (!isValidId(agentId)) return fail("agent_id must be an identity id");
    if (role !== "agent") return fail("agent_id is for agent tokens only");
  }
  if (typeof ca !== "string" || !caHashPattern.test(ca)) return fail("ca must be sha256:<hex>");
  if (!isValidId(fleet)) return fail("fleet must be a fleet id");
  return {
    nonceId: jti,
    role,
    labels: labelCopy,
    ...(selfLabels === true ? { allowSelfLabels: true } : {}),
    ...(name === undefined ? {} : { name }),
    ...(agentId === undefined ? {} : { agentId }),
    expiresAt: new Date(exp * 1000),
    caHash: ca,
    fleetId: fleet,
  };
}
