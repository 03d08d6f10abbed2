import { DroverError } from "../errors/index.ts";
import {
  bytesOf,
  childrenOf,
  contentOf,
  type DerNode,
  ecdsaSignatureFromDer,
  expectNode,
  objectIdentifier,
  readNode,
  tag,
} from "./der.ts";
import { bytesEqual } from "./encoding.ts";
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

const ecPublicKey = objectIdentifier("1.2.840.10045.2.1");
const prime256v1 = objectIdentifier("1.2.840.10045.3.1.7");
const ecdsaWithSha256 = objectIdentifier("1.2.840.10045.4.3.2");

/** The parts of a PKCS#10 request verification needs, located in its DER (RFC 2986). */
function requestParts(der: Uint8Array): {
  info: Uint8Array;
  keyAlgorithm: Uint8Array[];
  spki: Uint8Array;
  signatureAlgorithm: Uint8Array[];
  signature: Uint8Array;
} {
  const outer = readNode(der, 0);
  if (outer.tag !== tag.sequence || outer.end !== der.length) {
    throw new DroverError("invalid_argument", "malformed DER: not one SEQUENCE");
  }
  const [info, algorithm, signature, extra] = childrenOf(der, outer);
  if (extra) throw new DroverError("invalid_argument", "malformed DER: trailing fields");
  const infoNode = expectNode(info, tag.sequence, "CertificationRequestInfo");
  const [version, subject, spki] = childrenOf(der, infoNode);
  expectNode(version, tag.integer, "version");
  expectNode(subject, tag.sequence, "subject");
  const spkiNode = expectNode(spki, tag.sequence, "SubjectPublicKeyInfo");
  const [keyAlgorithm] = childrenOf(der, spkiNode);
  const elements = (node: DerNode | undefined, what: string) =>
    childrenOf(der, expectNode(node, tag.sequence, what)).map((child) => bytesOf(der, child));
  const signatureBits = contentOf(der, expectNode(signature, tag.bitString, "signature"));
  if (signatureBits[0] !== 0) throw new DroverError("invalid_argument", "malformed DER: signature");
  return {
    info: bytesOf(der, infoNode),
    keyAlgorithm: elements(keyAlgorithm, "key algorithm"),
    spki: bytesOf(der, spkiNode),
    signatureAlgorithm: elements(algorithm, "signature algorithm"),
    signature: signatureBits.subarray(1),
  };
}

/**
 * Verifies the CSR self-signature (ecdsa-with-SHA256 over P-256 only): the
 * requester holds the private key. Read straight from the DER, once.
 * Everything wrong with the input is invalid_argument with a specific message.
 */
export async function verifyCertificateRequest(der: Uint8Array): Promise<{ publicKey: CryptoKey }> {
  if (!(der instanceof Uint8Array) || der.length === 0) {
    throw new DroverError("invalid_argument", "certificate request must be non-empty DER bytes");
  }
  if (der.length > maxCsrBytes) {
    throw new DroverError("invalid_argument", "certificate request too large");
  }
  let parts: ReturnType<typeof requestParts>;
  try {
    parts = requestParts(der);
  } catch (cause) {
    throw new DroverError("invalid_argument", `certificate request malformed: ${describe(cause)}`, {
      cause,
    });
  }
  const [keyType, curve, ...keyRest] = parts.keyAlgorithm;
  if (
    !keyType ||
    !curve ||
    keyRest.length > 0 ||
    !bytesEqual(keyType, ecPublicKey) ||
    !bytesEqual(curve, prime256v1)
  ) {
    throw new DroverError("invalid_argument", "certificate request key must be ECDSA P-256");
  }
  // RFC 5758: ecdsa-with-SHA256 has no parameters, not even NULL.
  const [signatureType, ...signatureRest] = parts.signatureAlgorithm;
  if (!signatureType || signatureRest.length > 0 || !bytesEqual(signatureType, ecdsaWithSha256)) {
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
      parts.spki,
      { name: "ECDSA", namedCurve: "P-256" },
      true,
      ["verify"],
    );
    valid = await globalThis.crypto.subtle.verify(
      ecdsaSha256,
      publicKey,
      ecdsaSignatureFromDer(parts.signature, 32),
      parts.info,
    );
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
