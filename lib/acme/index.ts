/**
 * RFC 8555 ACME client (HTTP-01 only): WebCrypto and an injected fetch, so it
 * runs unchanged on Bun, Node >= 20 and Deno. Nothing happens at import time.
 */
import { generateKeyPair, type KeyPair } from "../pki/index.ts";

export {
  type AcmeAccount,
  type AcmeAuthorization,
  type AcmeChallenge,
  type AcmeClient,
  type AcmeClientOptions,
  type AcmeDirectory,
  type AcmeFetch,
  type AcmeIdentifier,
  type AcmeOrder,
  type AcmeOrderStatus,
  createAcmeClient,
  type NewAccountOptions,
} from "./client.ts";
export { fetchTrustingCa } from "./fetch.ts";
export { type EcPublicJwk, jwkThumbprint, publicJwk as accountPublicJwk } from "./jws.ts";
export { maxDomainsPerOrder, normalizeDomains } from "./names.ts";
export {
  type CertificateKeyAlgorithm,
  type ChallengeResponder,
  type ObtainCertificateOptions,
  type ObtainedCertificate,
  type ObtainedForCsr,
  obtainCertificate,
  obtainCertificateForCsr,
} from "./obtain.ts";
export { type AcmeProblem, AcmeProblemError } from "./problem.ts";
export { type RenewalPolicy, renewalDue, renewalTime } from "./renewal.ts";

/** A fresh ES256 account key, extractable so it can be saved with exportPrivateKeyPem (lib/pki). */
export function generateAccountKey(): Promise<KeyPair> {
  return generateKeyPair();
}
