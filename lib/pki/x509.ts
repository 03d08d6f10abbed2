// reflect-metadata must be loaded before @peculiar/x509 (its DI container needs it).
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { DroverError, type ErrorCode } from "../errors/index.ts";

// Pin the library to the runtime's WebCrypto so Bun, Node and Deno behave the same.
// Registering a provider is plain assignment; nothing starts.
x509.cryptoProvider.set(globalThis.crypto);

export { x509 };

/** The only signature algorithm Drover produces or accepts: ecdsa-with-SHA256. */
export const ecdsaSha256 = { name: "ECDSA", hash: "SHA-256" } as const;

export const oid = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  organizationalUnit: "2.5.4.11",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  basicConstraints: "2.5.29.19",
} as const;

/**
 * Parses a certificate from PEM text or DER bytes. Failures become a DroverError
 * with the given code, because "bad input" means different things to callers
 * (garbage argument vs. unusable peer certificate).
 */
export function parseCertificate(
  certificate: string | Uint8Array,
  code: ErrorCode = "invalid_argument",
): x509.X509Certificate {
  try {
    if (typeof certificate === "string") {
      if (!certificate.includes("-----BEGIN CERTIFICATE-----")) {
        throw new Error("no CERTIFICATE PEM block");
      }
      return new x509.X509Certificate(certificate);
    }
    if (!(certificate instanceof Uint8Array)) throw new Error("expected PEM text or DER bytes");
    return new x509.X509Certificate(certificate);
  } catch (cause) {
    throw new DroverError(code, `certificate malformed: ${describe(cause)}`, { cause });
  }
}

export function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
