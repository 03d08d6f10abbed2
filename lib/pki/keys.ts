import { DroverError } from "../errors/index.ts";
import { decodePem, encodePem, sha256Hex } from "./encoding.ts";
import { parseCertificate } from "./x509.ts";

export interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

const p256 = { name: "ECDSA", namedCurve: "P-256" } as const;

/** True for an ECDSA P-256 CryptoKey of the given type. */
export function isP256Key(key: unknown, type: "public" | "private"): key is CryptoKey {
  if (typeof key !== "object" || key === null || !("algorithm" in key) || !("type" in key)) {
    return false;
  }
  const algorithm = key.algorithm as { name?: unknown; namedCurve?: unknown };
  return key.type === type && algorithm.name === "ECDSA" && algorithm.namedCurve === "P-256";
}

export function assertP256Key(key: unknown, type: "public" | "private", field: string): void {
  if (!isP256Key(key, type)) {
    throw new DroverError("invalid_argument", `${field} must be an ECDSA P-256 ${type} key`);
  }
}

/** ECDSA P-256, extractable so it can be persisted as PEM. */
export async function generateKeyPair(): Promise<KeyPair> {
  const pair = await globalThis.crypto.subtle.generateKey(p256, true, ["sign", "verify"]);
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}

/** PKCS#8 "PRIVATE KEY" PEM, readable by `openssl pkey`. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  assertP256Key(key, "private", "key");
  const der = await globalThis.crypto.subtle.exportKey("pkcs8", key);
  return encodePem(der, "PRIVATE KEY");
}

/** Imports a PKCS#8 P-256 key and derives its public half (JWK without `d`). */
export async function importPrivateKeyPem(pem: string): Promise<KeyPair> {
  if (typeof pem === "string" && pem.includes("-----BEGIN EC PRIVATE KEY-----")) {
    // SEC1 is what `openssl ecparam -genkey` writes; WebCrypto only reads PKCS#8.
    throw new DroverError(
      "invalid_argument",
      "SEC1 'EC PRIVATE KEY' is not supported; convert with `openssl pkcs8 -topk8 -nocrypt`",
    );
  }
  const der = decodePem(pem, "PRIVATE KEY");
  const subtle = globalThis.crypto.subtle;
  let privateKey: CryptoKey;
  try {
    privateKey = await subtle.importKey("pkcs8", der, p256, true, ["sign"]);
  } catch (cause) {
    throw new DroverError("invalid_argument", "private key is not a PKCS#8 ECDSA P-256 key", {
      cause,
    });
  }
  const { d: _private, key_ops: _ops, ...publicJwk } = await subtle.exportKey("jwk", privateKey);
  const publicKey = await subtle.importKey("jwk", publicJwk, p256, true, ["verify"]);
  return { privateKey, publicKey };
}

/** SubjectPublicKeyInfo "PUBLIC KEY" PEM. */
export async function exportPublicKeyPem(key: CryptoKey): Promise<string> {
  assertP256Key(key, "public", "key");
  const der = await globalThis.crypto.subtle.exportKey("spki", key);
  return encodePem(der, "PUBLIC KEY");
}

/** DER SubjectPublicKeyInfo of a public key, the form certificates embed. */
export async function spkiBytes(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.exportKey("spki", key));
}

/** "sha256:<hex>" of the DER SubjectPublicKeyInfo of a certificate's public key (what join tokens pin). */
export async function publicKeyHash(certificatePem: string): Promise<string> {
  const cert = parseCertificate(certificatePem);
  // Hash the SPKI bytes exactly as they appear in the certificate.
  return `sha256:${await sha256Hex(cert.publicKey.rawData)}`;
}
