import { DroverError, invalidField } from "../errors/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import { oid, x509 } from "../pki/x509.ts";
import type { AcmeAuthorization, AcmeClient } from "./client.ts";
import { certificateBlocks, pem } from "./encoding.ts";
import { normalizeDomains } from "./names.ts";

/**
 * Serves HTTP-01 responses: `GET http://<domain>/.well-known/acme-challenge/<token>`
 * must answer 200 with exactly the key authorization. In production the agent's
 * nginx does it; tokens are base64url only, so they are safe as file names.
 */
export interface ChallengeResponder {
  publish(token: string, keyAuthorization: string): Promise<void>;
  remove(token: string): Promise<void>;
}

/** Key type of the certificate (not the account): ECDSA on P-256 or P-384. */
export type CertificateKeyAlgorithm = "ecdsa-p256" | "ecdsa-p384";

export interface ObtainCertificateOptions {
  /** A client whose account exists (newAccount called, or accountUrl given). */
  client: AcmeClient;
  /** DNS names; the first becomes the subject CN when it fits. */
  domains: readonly string[];
  responder: ChallengeResponder;
  /** Default "ecdsa-p256". */
  keyAlgorithm?: CertificateKeyAlgorithm;
  logger?: Logger;
}

export interface ObtainedCertificate {
  /** Leaf first, then the issuer chain, as the CA sent it; what nginx's ssl_certificate wants. */
  certificatePem: string;
  /** PKCS#8 "PRIVATE KEY" of the new certificate key. */
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
  /** Leaf serial, lowercase hex without sign padding. */
  serial: string;
  domains: string[];
}

const algorithms: Record<CertificateKeyAlgorithm, { namedCurve: string; hash: string }> = {
  "ecdsa-p256": { namedCurve: "P-256", hash: "SHA-256" },
  "ecdsa-p384": { namedCurve: "P-384", hash: "SHA-384" },
};

/** RFC 5280 upper bound for a CommonName. */
const maxCommonName = 64;

function checkResponder(responder: unknown): asserts responder is ChallengeResponder {
  const r = responder as Partial<ChallengeResponder> | null | undefined;
  if (typeof r?.publish !== "function" || typeof r.remove !== "function") {
    throw invalidField("responder", "must have publish(token, keyAuthorization) and remove(token)");
  }
}

/** A certificate for a key someone else holds (an agent's CSR): no key in the result. */
export type ObtainedForCsr = Omit<ObtainedCertificate, "keyPem">;

/**
 * Runs one order end to end: HTTP-01 for every pending authorization (tokens
 * published, then removed whatever happens), a fresh certificate key and CSR,
 * finalize, download. Input is checked before any network call. Every failure
 * throws; nothing partial is returned.
 */
export async function obtainCertificate(
  options: ObtainCertificateOptions,
): Promise<ObtainedCertificate> {
  const keyAlgorithm = options?.keyAlgorithm ?? "ecdsa-p256";
  const algorithm = algorithms[keyAlgorithm];
  if (!algorithm)
    throw invalidField("keyAlgorithm", `must be one of ${Object.keys(algorithms).join(", ")}`);
  let keys: CryptoKeyPair | undefined;
  const issued = await runOrder(options, async (domains) => {
    keys = (await globalThis.crypto.subtle.generateKey(
      { name: "ECDSA", namedCurve: algorithm.namedCurve },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const commonName = domains[0] && domains[0].length <= maxCommonName ? domains[0] : undefined;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: commonName === undefined ? undefined : [{ [oid.commonName]: [commonName] }],
      keys,
      signingAlgorithm: { name: "ECDSA", hash: algorithm.hash },
      // RFC 8555 §7.4: the CSR's SANs are the order's identifiers.
      extensions: [
        new x509.SubjectAlternativeNameExtension(
          domains.map((value) => ({ type: "dns" as const, value })),
        ),
      ],
    });
    return {
      csrDer: new Uint8Array(csr.rawData),
      spki: new Uint8Array(await globalThis.crypto.subtle.exportKey("spki", keys.publicKey)),
    };
  });
  const keyPem = pem(
    new Uint8Array(
      await globalThis.crypto.subtle.exportKey("pkcs8", (keys as CryptoKeyPair).privateKey),
    ),
    "PRIVATE KEY",
  );
  return { ...issued, keyPem };
}

/**
 * The same order for a CSR made elsewhere (a key an agent generated and
 * keeps): the certificate must be for the CSR's key. The CSR should name the
 * domains as DNS SANs; the CA refuses it otherwise.
 */
export async function obtainCertificateForCsr(
  options: Omit<ObtainCertificateOptions, "keyAlgorithm"> & { csrDer: Uint8Array },
): Promise<ObtainedForCsr> {
  let spki: Uint8Array;
  try {
    spki = new Uint8Array(new x509.Pkcs10CertificateRequest(options.csrDer).publicKey.rawData);
  } catch (cause) {
    throw invalidField("csrDer", `is not a PKCS#10 certificate request: ${String(cause)}`);
  }
  return runOrder(options, async () => ({ csrDer: options.csrDer, spki }));
}

/** Authorizes the order over HTTP-01, finalizes it with the CSR `prepare` makes, downloads, checks. */
async function runOrder(
  options: Omit<ObtainCertificateOptions, "keyAlgorithm">,
  prepare: (domains: string[]) => Promise<{ csrDer: Uint8Array; spki: Uint8Array }>,
): Promise<ObtainedForCsr> {
  const domains = normalizeDomains(options?.domains);
  checkResponder(options.responder);
  const { client, responder } = options;
  if (typeof client?.newOrder !== "function") throw invalidField("client", "must be an AcmeClient");
  if (client.accountUrl === undefined) {
    throw new DroverError(
      "failed_precondition",
      "no ACME account. Next: call client.newAccount({ termsOfServiceAgreed: true }) before obtainCertificate",
    );
  }
  const logger = options.logger ?? silentLogger;

  let order = await client.newOrder(domains);
  if (order.status === "invalid") {
    throw new DroverError(
      "failed_precondition",
      `ACME order ${order.url} is invalid from the start. Next: retry`,
    );
  }
  if (order.status === "pending") {
    const published: string[] = [];
    try {
      const pending: AcmeAuthorization[] = [];
      for (const authorization of await client.authorizations(order)) {
        // Valid ones are reused authorizations from an earlier order: nothing to prove.
        if (authorization.status === "valid") continue;
        if (authorization.status !== "pending") {
          await client.waitForAuthorization(authorization); // throws with the CA's reason
          continue;
        }
        const challenge = client.http01Challenge(authorization);
        await responder.publish(challenge.token, await client.keyAuthorization(challenge.token));
        published.push(challenge.token);
        pending.push(authorization);
      }
      // Publish everything before answering anything: the CA may validate at once.
      for (const authorization of pending) {
        const challenge = client.http01Challenge(authorization);
        if (challenge.status === "pending") await client.respondToChallenge(challenge);
      }
      for (const authorization of pending) await client.waitForAuthorization(authorization);
    } finally {
      for (const token of published) {
        try {
          await responder.remove(token);
        } catch (error) {
          // The order's outcome matters more than a stale token file.
          logger.warn("acme: could not remove challenge response", { token, error: String(error) });
        }
      }
    }
    order = await client.waitForOrder(order, "ready");
  }

  let spki: Uint8Array | undefined;
  if (order.status === "ready") {
    const prepared = await prepare(domains);
    spki = prepared.spki;
    order = await client.finalize(order, prepared.csrDer);
  } else if (order.status === "valid") {
    // A valid order already carries a certificate for a key we do not have.
    throw new DroverError(
      "failed_precondition",
      `ACME order ${order.url} was already finalized. Next: retry`,
    );
  }
  order = await client.waitForOrder(order, "valid");
  const chain = await client.downloadCertificate(order);
  const issued = await checkChain(chain, spki as Uint8Array, domains);
  logger.info("acme: certificate issued", {
    domains,
    serial: issued.serial,
    notAfter: issued.notAfter.toISOString(),
  });
  return { ...issued, domains };
}

/** The CA's chain must be for our key and cover every requested name; otherwise it is useless to nginx. */
async function checkChain(
  chain: string,
  spki: Uint8Array,
  domains: string[],
): Promise<Omit<ObtainedCertificate, "keyPem" | "domains">> {
  const blocks = certificateBlocks(chain);
  const leafPem = blocks[0];
  let leaf: x509.X509Certificate;
  try {
    if (leafPem === undefined) throw new Error("no CERTIFICATE block");
    leaf = new x509.X509Certificate(leafPem);
  } catch (cause) {
    throw new DroverError(
      "unavailable",
      `ACME server sent an unreadable certificate: ${String(cause)}`,
      {
        cause,
      },
    );
  }
  const leafSpki = new Uint8Array(leaf.publicKey.rawData);
  if (spki.length !== leafSpki.length || spki.some((byte, i) => byte !== leafSpki[i])) {
    throw new DroverError(
      "unavailable",
      "ACME server sent a certificate for a different key. Next: retry",
    );
  }
  const san = leaf.getExtension<x509.SubjectAlternativeNameExtension>(oid.subjectAltName);
  const names = new Set(
    (san?.names.items ?? []).filter((n) => n.type === "dns").map((n) => n.value.toLowerCase()),
  );
  const missing = domains.filter((d) => !names.has(d));
  if (missing.length > 0) {
    throw new DroverError(
      "unavailable",
      `ACME server sent a certificate missing ${missing.join(", ")}. Next: retry or report it to the CA`,
    );
  }
  return {
    certificatePem: blocks.join(""),
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    serial: leaf.serialNumber.toLowerCase().replace(/^(00)+(?=..)/, ""),
  };
}
