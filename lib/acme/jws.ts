import { DroverError } from "../errors/index.ts";
import { base64url } from "./encoding.ts";

/** The public half of an ES256 account key as a JWK, members limited to what RFC 7638 hashes. */
export interface EcPublicJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
}

/** Flattened JWS JSON serialization (RFC 7515 §7.2.2), the only form ACME accepts. */
export interface FlattenedJws {
  protected: string;
  payload: string;
  signature: string;
}

const es256 = { name: "ECDSA", hash: "SHA-256" } as const;

function isP256(key: unknown, type: "public" | "private"): key is CryptoKey {
  if (typeof key !== "object" || key === null || !("algorithm" in key) || !("type" in key)) {
    return false;
  }
  const algorithm = key.algorithm as { name?: unknown; namedCurve?: unknown };
  return key.type === type && algorithm.name === "ECDSA" && algorithm.namedCurve === "P-256";
}

/** Throws unless the pair is an ECDSA P-256 key pair usable for ES256. */
export function assertAccountKey(key: unknown): asserts key is {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
} {
  const pair = key as { privateKey?: unknown; publicKey?: unknown } | null | undefined;
  if (!isP256(pair?.privateKey, "private") || !isP256(pair?.publicKey, "public")) {
    throw new DroverError(
      "invalid_argument",
      "accountKey must be an ECDSA P-256 key pair ({ privateKey, publicKey }); create one with generateAccountKey()",
    );
  }
}

export async function publicJwk(publicKey: CryptoKey): Promise<EcPublicJwk> {
  const jwk = await globalThis.crypto.subtle.exportKey("jwk", publicKey);
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.x || !jwk.y) {
    throw new DroverError("invalid_argument", "account key is not an ECDSA P-256 public key");
  }
  return { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y };
}

/** RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, no whitespace. */
export async function jwkThumbprint(jwk: EcPublicJwk): Promise<string> {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  const digest = await globalThis.crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(canonical),
  );
  return base64url(new Uint8Array(digest));
}

/**
 * Signs an ACME request. `payload` undefined means POST-as-GET (RFC 8555 §6.3),
 * whose payload is the empty string rather than "null".
 */
export async function signJws(
  privateKey: CryptoKey,
  header: Record<string, unknown>,
  payload: unknown,
): Promise<FlattenedJws> {
  const protectedB64 = base64url(JSON.stringify({ alg: "ES256", ...header }));
  const payloadB64 = payload === undefined ? "" : base64url(JSON.stringify(payload));
  // WebCrypto ECDSA signatures are already raw r||s, the encoding JWS requires.
  const signature = await globalThis.crypto.subtle.sign(
    es256,
    privateKey,
    new TextEncoder().encode(`${protectedB64}.${payloadB64}`),
  );
  return {
    protected: protectedB64,
    payload: payloadB64,
    signature: base64url(new Uint8Array(signature)),
  };
}
