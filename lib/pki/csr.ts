import { DroverError } from "../errors/index.ts";
import { assertP256Key, type KeyPair } from "./keys.ts";
import { normalizeHostname, subjectName } from "./names.ts";
import { describe, ecdsaSha256, x509 } from "./x509.ts";

/** Generous upper bound; a P-256 CSR is a few hundred bytes. Caps parser work on hostile input. */
const maxCsrBytes = 16 * 1024;

/**
 * PKCS#10 request (DER) signed by the key pair; proves possession. Subject CN
 * optional. Fleet identities request no SANs (the server decides them); a
 * request an ACME CA will see names its DNS SANs, as RFC 8555 requires.
 */
export async function createCertificateRequest(
  keys: KeyPair,
  commonName?: string,
  dnsNames: readonly string[] = [],
): Promise<Uint8Array> {
  assertP256Key(keys.privateKey, "private", "keys.privateKey");
  assertP256Key(keys.publicKey, "public", "keys.publicKey");
  if (commonName !== undefined && (typeof commonName !== "string" || commonName.length === 0)) {
    throw new DroverError("invalid_argument", "commonName must be a non-empty string");
  }
  const names = dnsNames.map(normalizeHostname);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: commonName === undefined ? undefined : subjectName({ commonName }),
    keys,
    signingAlgorithm: ecdsaSha256,
    ...(names.length === 0
      ? {}
      : {
          extensions: [
            new x509.SubjectAlternativeNameExtension(
              names.map((value) => ({ type: "dns" as const, value })),
            ),
          ],
        }),
  });
  return new Uint8Array(csr.rawData);
}

/**
 * Parses and verifies the CSR self-signature (ecdsa-with-SHA256 over P-256 only).
 * Everything wrong with the input is invalid_argument with a specific message.
 */
export async function verifyCertificateRequest(der: Uint8Array): Promise<{ publicKey: CryptoKey }> {
  if (!(der instanceof Uint8Array) || der.length === 0) {
    throw new DroverError("invalid_argument", "certificate request must be non-empty DER bytes");
  }
  if (der.length > maxCsrBytes) {
    throw new DroverError("invalid_argument", "certificate request too large");
  }
  let csr: x509.Pkcs10CertificateRequest;
  let publicKeyAlgorithm: { name?: unknown; namedCurve?: unknown };
  let signatureAlgorithm: { name?: unknown; hash?: { name?: unknown } };
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
    publicKeyAlgorithm = csr.publicKey.algorithm as typeof publicKeyAlgorithm;
    signatureAlgorithm = csr.signatureAlgorithm as typeof signatureAlgorithm;
  } catch (cause) {
    throw new DroverError("invalid_argument", `certificate request malformed: ${describe(cause)}`, {
      cause,
    });
  }
  if (publicKeyAlgorithm.name !== "ECDSA" || publicKeyAlgorithm.namedCurve !== "P-256") {
    throw new DroverError("invalid_argument", "certificate request key must be ECDSA P-256");
  }
  if (signatureAlgorithm.name !== "ECDSA" || signatureAlgorithm.hash?.name !== "SHA-256") {
    throw new DroverError(
      "invalid_argument",
      "certificate request must be signed with ecdsa-with-SHA256",
    );
  }
  let publicKey: CryptoKey;
  let valid: boolean;
  try {
    // importKey checks the point is on the curve before we trust it for verify.
    publicKey = await globalThis.crypto.subtle.importKey(
      "spki",
      csr.publicKey.rawData,
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["verify"],
    );
    valid = await csr.verify();
  } catch (cause) {
    throw new DroverError("invalid_argument", `certificate request malformed: ${describe(cause)}`, {
      cause,
    });
  }
  if (!valid) {
    throw new DroverError("invalid_argument", "certificate request signature invalid");
  }
  return { publicKey };
}
