import { DroverError } from "../errors/index.ts";
import {
  clockSkewMs,
  type FleetCA,
  positiveNumber,
  type SigningCA,
  type SitesCA,
  validDate,
} from "./ca.ts";
import { type Identity, identityUri } from "./identity.ts";
import { assertP256Key } from "./keys.ts";
import { normalizeHostname, normalizeIp, subjectName } from "./names.ts";
import { normalizeSerial, randomSerial } from "./serial.ts";
import { ecdsaSha256, oid, parseCertificate, x509 } from "./x509.ts";

export interface IssuedCertificate {
  /** Lowercase hex, positive, 16 random bytes. */
  serial: string;
  certificatePem: string;
  notBefore: Date;
  notAfter: Date;
  subject: string;
}

const dayMs = 86_400_000;
const sevenDaysMs = 7 * dayMs;
/** RFC 5280 upper bound for a CommonName. */
const maxCommonName = 64;

interface LeafProfile {
  publicKey: CryptoKey;
  subject: x509.JsonName;
  now: Date;
  lifetimeMs: number;
  extensions: x509.Extension[];
}

// Parsing the CA costs more than the signature; a CA never changes, so parse it once.
const parsedCas = new WeakMap<SigningCA, x509.X509Certificate>();

function parsedCa(ca: SigningCA): x509.X509Certificate {
  let parsed = parsedCas.get(ca);
  if (!parsed) {
    parsed = parseCertificate(ca.certificatePem);
    parsedCas.set(ca, parsed);
  }
  return parsed;
}

/**
 * Signs a leaf under a CA of the purpose the profile needs (checked at run
 * time too: a sites CA typed as `any` still cannot sign an identity).
 * notBefore is back-dated for clock skew; notAfter is capped at the CA's own
 * notAfter, since a chain is only as valid as its root.
 */
async function issueLeaf(
  ca: SigningCA,
  purpose: SigningCA["purpose"],
  profile: LeafProfile,
): Promise<IssuedCertificate> {
  if (ca.purpose !== purpose) {
    throw new DroverError(
      "internal",
      `the ${ca.purpose} CA cannot sign what only the ${purpose} CA signs`,
    );
  }
  assertP256Key(ca.keys.privateKey, "private", "ca.keys.privateKey");
  assertP256Key(profile.publicKey, "public", "publicKey");
  const caCert = parsedCa(ca);
  if (profile.now.getTime() >= caCert.notAfter.getTime()) {
    throw new DroverError("failed_precondition", `${ca.purpose} CA certificate has expired`);
  }
  const notBefore = new Date(profile.now.getTime() - clockSkewMs);
  const notAfter = new Date(
    Math.min(profile.now.getTime() + profile.lifetimeMs, caCert.notAfter.getTime()),
  );
  const caSki = caCert.getExtension<x509.SubjectKeyIdentifierExtension>(oid.subjectKeyIdentifier);
  const aki = caSki
    ? new x509.AuthorityKeyIdentifierExtension(caSki.keyId)
    : await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: profile.subject,
    // The issuer must be byte-identical to the CA subject for chain building.
    issuer: new x509.Name(caCert.subjectName.toArrayBuffer()),
    notBefore,
    notAfter,
    publicKey: profile.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ecdsaSha256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ...profile.extensions,
      await x509.SubjectKeyIdentifierExtension.create(profile.publicKey),
      aki,
    ],
  });
  return {
    serial: normalizeSerial(cert.serialNumber),
    certificatePem: cert.toString("pem"),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    subject: cert.subject,
  };
}

/**
 * The control plane's own TLS certificate, from the fleet CA: EKU serverAuth,
 * SAN DNS names + IP addresses (v4 and v6), keyUsage digitalSignature
 * (critical), AKI from the CA. Validity defaults to 825 days. Subject:
 * O=<fleetId>, CN=<first hostname or IP> (when it fits in 64 chars). Never
 * for names a user asks for: those are issueSiteCertificate's.
 */
export async function issueServerCertificate(
  ca: FleetCA,
  options: {
    publicKey: CryptoKey;
    hostnames: string[];
    ips: string[];
    now?: Date;
    validityDays?: number;
  },
): Promise<IssuedCertificate> {
  const hostnames = (options.hostnames ?? []).map(normalizeHostname);
  const rawIps = options.ips ?? [];
  const ips = rawIps.map(normalizeIp);
  if (hostnames.length + ips.length === 0) {
    throw new DroverError("invalid_argument", "a server certificate needs a hostname or an IP");
  }
  const validityDays = positiveNumber(options.validityDays ?? 825, "validityDays");
  const primary = hostnames[0] ?? rawIps[0];
  const commonName = primary && primary.length <= maxCommonName ? primary : undefined;
  return issueLeaf(ca, "fleet", {
    publicKey: options.publicKey,
    subject: subjectName({ organization: ca.fleetId, commonName }),
    now: validDate(options.now, "now"),
    lifetimeMs: validityDays * dayMs,
    extensions: [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...hostnames.map((value) => ({ type: "dns" as const, value })),
        ...ips.map((value) => ({ type: "ip" as const, value })),
      ]),
    ],
  });
}

/**
 * Client certificate: subject CN=<id>, O=<fleetId>, OU=<role>; SAN URI
 * identityUri(identity); EKU clientAuth; keyUsage digitalSignature (critical); AKI.
 * Lifetime defaults to 7 days; notBefore is one minute before `now`.
 */
export async function issueClientCertificate(
  ca: FleetCA,
  options: { identity: Identity; publicKey: CryptoKey; now?: Date; lifetimeMs?: number },
): Promise<IssuedCertificate> {
  const { identity } = options;
  const uri = identityUri(identity);
  if (identity.fleetId !== ca.fleetId) {
    throw new DroverError(
      "invalid_argument",
      `identity fleet ${identity.fleetId} does not match CA fleet ${ca.fleetId}`,
    );
  }
  return issueLeaf(ca, "fleet", {
    publicKey: options.publicKey,
    subject: subjectName({
      organization: identity.fleetId,
      organizationalUnit: identity.role,
      commonName: identity.id,
    }),
    now: validDate(options.now, "now"),
    lifetimeMs: positiveNumber(options.lifetimeMs ?? sevenDaysMs, "lifetimeMs"),
    extensions: [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: uri }]),
    ],
  });
}

/**
 * A virtual host's internal certificate, from the sites CA: SAN DNS <domain>
 * (a leading "*." for wildcards), EKU serverAuth, keyUsage digitalSignature
 * (critical), AKI; subject CN=<domain> when it fits in 64 chars. Validity
 * defaults to 90 days.
 */
export async function issueSiteCertificate(
  ca: SitesCA,
  options: { publicKey: CryptoKey; domain: string; now?: Date; validityDays?: number },
): Promise<IssuedCertificate> {
  const domain = normalizeHostname(options.domain);
  const validityDays = positiveNumber(options.validityDays ?? 90, "validityDays");
  return issueLeaf(ca, "sites", {
    publicKey: options.publicKey,
    subject: subjectName({ commonName: domain.length <= maxCommonName ? domain : undefined }),
    now: validDate(options.now, "now"),
    lifetimeMs: validityDays * dayMs,
    extensions: [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "dns", value: domain }]),
    ],
  });
}

/**
 * A test of whether a certificate was signed by the CA whose certificate is
 * `caPem` (issuer name, then signature; validity is not checked). The CA is
 * parsed once, here.
 */
export function issuedBy(caPem: string): (certificatePem: string) => Promise<boolean> {
  const ca = parseCertificate(caPem);
  return async (certificatePem) => {
    const cert = parseCertificate(certificatePem);
    if (cert.issuer !== ca.subject) return false;
    return cert.verify({ publicKey: ca.publicKey, signatureOnly: true });
  };
}

/** Serial (same form as IssuedCertificate.serial), validity and subject of a PEM certificate. */
export function certificateInfo(certificate: string | Uint8Array): {
  serial: string;
  notBefore: Date;
  notAfter: Date;
  subject: string;
} {
  const cert = parseCertificate(certificate);
  return {
    serial: normalizeSerial(cert.serialNumber),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    subject: cert.subject,
  };
}
