import { DroverError } from "../errors/index.ts";
import {
  clockSkewMs,
  type FleetCA,
  positiveNumber,
  type SigningCA,
  type SitesCA,
  validDate,
} from "./ca.ts";
import { encodePem, fromHex } from "./encoding.ts";
import { type Identity, identityUri } from "./identity.ts";
import { assertP256Key, spkiBytes } from "./keys.ts";
import {
  type AltName,
  keyIdentifier,
  type LeafFields,
  type LeafNames,
  nameText,
  signLeafCertificate,
} from "./leaf-der.ts";
import { normalizeHostname, normalizeIp } from "./names.ts";
import { normalizeSerial, randomSerial } from "./serial.ts";
import { oid, parseCertificate, type x509 } from "./x509.ts";

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
  subject: LeafNames;
  now: Date;
  lifetimeMs: number;
  extendedKeyUsage: LeafFields["extendedKeyUsage"];
  altNames: AltName[];
}

/** What issuing needs from a CA certificate, read once: a CA never changes. */
interface CaFacts {
  notAfter: Date;
  /** Subject Name, DER: a leaf's issuer must match it byte for byte. */
  subject: Uint8Array;
  keyId: Uint8Array;
}

const caFacts = new WeakMap<SigningCA, CaFacts>();

async function factsOf(ca: SigningCA): Promise<CaFacts> {
  let facts = caFacts.get(ca);
  if (!facts) {
    const cert = parseCertificate(ca.certificatePem);
    const ski = cert.getExtension<x509.SubjectKeyIdentifierExtension>(oid.subjectKeyIdentifier);
    // A CA without an SKI (made elsewhere): the RFC 5280 method-1 id of its key.
    const keyId = ski
      ? fromHex(ski.keyId)
      : await keyIdentifier(new Uint8Array(cert.publicKey.rawData));
    facts = {
      notAfter: cert.notAfter,
      subject: new Uint8Array(cert.subjectName.toArrayBuffer()),
      keyId,
    };
    caFacts.set(ca, facts);
  }
  return facts;
}

/** Whole seconds: what X.509 times hold, so the returned dates equal the certificate's. */
const wholeSeconds = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);

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
  const issuer = await factsOf(ca);
  if (profile.now.getTime() >= issuer.notAfter.getTime()) {
    throw new DroverError("failed_precondition", `${ca.purpose} CA certificate has expired`);
  }
  const serial = randomSerial();
  const notBefore = wholeSeconds(profile.now.getTime() - clockSkewMs);
  const notAfter = wholeSeconds(
    Math.min(profile.now.getTime() + profile.lifetimeMs, issuer.notAfter.getTime()),
  );
  const der = await signLeafCertificate(
    {
      serial,
      issuer: issuer.subject,
      notBefore,
      notAfter,
      subject: profile.subject,
      subjectPublicKeyInfo: await spkiBytes(profile.publicKey),
      extendedKeyUsage: profile.extendedKeyUsage,
      altNames: profile.altNames,
      authorityKeyId: issuer.keyId,
    },
    ca.keys.privateKey,
  );
  return {
    serial: normalizeSerial(serial),
    certificatePem: encodePem(der, "CERTIFICATE"),
    notBefore,
    notAfter,
    subject: nameText(profile.subject),
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
    subject: { organization: ca.fleetId, commonName },
    now: validDate(options.now, "now"),
    lifetimeMs: validityDays * dayMs,
    extendedKeyUsage: "serverAuth",
    altNames: [
      ...hostnames.map((value) => ({ type: "dns" as const, value })),
      ...ips.map((value) => ({ type: "ip" as const, value })),
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
    subject: {
      organization: identity.fleetId,
      organizationalUnit: identity.role,
      commonName: identity.id,
    },
    now: validDate(options.now, "now"),
    lifetimeMs: positiveNumber(options.lifetimeMs ?? sevenDaysMs, "lifetimeMs"),
    extendedKeyUsage: "clientAuth",
    altNames: [{ type: "uri", value: uri }],
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
    subject: { commonName: domain.length <= maxCommonName ? domain : undefined },
    now: validDate(options.now, "now"),
    lifetimeMs: validityDays * dayMs,
    extendedKeyUsage: "serverAuth",
    altNames: [{ type: "dns", value: domain }],
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
