import { DroverError } from "../errors/index.ts";
import { bytesEqual, randomBytes, toHex } from "./encoding.ts";
import { isValidId } from "./identity.ts";
import {
  generateKeyPair,
  importPrivateKeyPem,
  type KeyPair,
  publicKeyHash,
  spkiBytes,
} from "./keys.ts";
import { subjectName } from "./names.ts";
import { randomSerial } from "./serial.ts";
import { ecdsaSha256, oid, parseCertificate, x509 } from "./x509.ts";

/**
 * A fleet's certificate authority: it vouches for the control plane's server
 * certificate and for agent and operator identities, and signs nothing a user
 * can request. The fleet id is stored in the CA subject's O attribute (the
 * same place client certificates carry it), which is where loadFleetCA reads
 * it back from.
 */
export interface FleetCA {
  purpose: "fleet";
  fleetId: string;
  certificatePem: string;
  keys: KeyPair;
  publicKeyHash: string;
}

/**
 * The sites CA: signs the internal certificates of virtual hosts, which users
 * request, and nothing else. A separate root so that nothing it signs is ever
 * accepted by agents or the CLI talking to the control plane. Its subject
 * carries OU=sites and the fleet id; the certificate restricts every chain
 * through it to serverAuth (EKU), and the key stays beside the fleet CA's.
 */
export interface SitesCA {
  purpose: "sites";
  fleetId: string;
  certificatePem: string;
  keys: KeyPair;
  publicKeyHash: string;
}

/** Either authority; what issueLeaf needs. */
export type SigningCA = FleetCA | SitesCA;

/** Back-dating of notBefore so peers whose clocks run slightly behind accept fresh certificates. */
export const clockSkewMs = 60_000;

const dayMs = 86_400_000;

export function caCommonName(fleetId: string): string {
  return `Drover fleet CA ${fleetId}`;
}

export function sitesCaCommonName(fleetId: string): string {
  return `Drover sites CA ${fleetId}`;
}

/** The subject OU that marks the sites CA, so neither CA's files load as the other. */
export const sitesUnit = "sites";

export function validDate(value: Date | undefined, field: string): Date {
  const date = value ?? new Date();
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new DroverError("invalid_argument", `${field} must be a valid Date`);
  }
  return date;
}

export function positiveNumber(value: number, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new DroverError("invalid_argument", `${field} must be a positive number`);
  }
  return value;
}

interface CaProfile {
  fleetId: string;
  organizationalUnit?: string;
  commonName: string;
  now: Date;
  validityDays: number;
  /** Beyond basicConstraints, keyUsage and SKI. */
  extensions: x509.Extension[];
}

/**
 * Self-signed CA: basicConstraints CA:true pathLen 0 (critical), keyUsage
 * keyCertSign+cRLSign (critical), SKI. notBefore is back-dated by one minute.
 */
async function createCA(profile: CaProfile): Promise<Omit<FleetCA, "purpose">> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName({
      organization: profile.fleetId,
      organizationalUnit: profile.organizationalUnit,
      commonName: profile.commonName,
    }),
    notBefore: new Date(profile.now.getTime() - clockSkewMs),
    notAfter: new Date(profile.now.getTime() + profile.validityDays * dayMs),
    keys,
    signingAlgorithm: ecdsaSha256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      ...profile.extensions,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certificatePem = cert.toString("pem");
  return {
    fleetId: profile.fleetId,
    certificatePem,
    keys,
    publicKeyHash: await publicKeyHash(certificatePem),
  };
}

function checkedOptions(options: { fleetId?: string; now?: Date; validityDays?: number }) {
  const fleetId = options.fleetId ?? `fleet-${toHex(randomBytes(4))}`;
  if (!isValidId(fleetId)) {
    throw new DroverError("invalid_argument", `invalid fleet id ${JSON.stringify(fleetId)}`);
  }
  return {
    fleetId,
    now: validDate(options.now, "now"),
    validityDays: positiveNumber(options.validityDays ?? 3650, "validityDays"),
  };
}

/** A new fleet CA (see createCA); valid 3650 days unless told. */
export async function createFleetCA(
  options: { fleetId?: string; now?: Date; validityDays?: number } = {},
): Promise<FleetCA> {
  const checked = checkedOptions(options);
  const ca = await createCA({
    ...checked,
    commonName: caCommonName(checked.fleetId),
    extensions: [],
  });
  return { purpose: "fleet", ...ca };
}

/**
 * A new sites CA for the fleet (see createCA), subject O=<fleetId>, OU=sites,
 * CN=Drover sites CA <fleetId>, with EKU serverAuth: verifiers that apply EKU
 * to the chain (OpenSSL, browsers) refuse anything else it might sign.
 */
export async function createSitesCA(options: {
  fleetId: string;
  now?: Date;
  validityDays?: number;
}): Promise<SitesCA> {
  const checked = checkedOptions(options);
  const ca = await createCA({
    ...checked,
    organizationalUnit: sitesUnit,
    commonName: sitesCaCommonName(checked.fleetId),
    extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])],
  });
  return { purpose: "sites", ...ca };
}

/**
 * Reads a persisted CA. Refuses (failed_precondition) a key that does not match
 * the certificate, a certificate that is not a self-signed CA, or one without a
 * valid fleet id in its subject O. Expiry is not checked here.
 */
async function loadCA(pems: {
  certificatePem: string;
  privateKeyPem: string;
}): Promise<{ cert: x509.X509Certificate; ca: Omit<FleetCA, "purpose"> }> {
  const cert = parseCertificate(pems.certificatePem);
  const keys = await importPrivateKeyPem(pems.privateKeyPem);
  const certSpki = new Uint8Array(cert.publicKey.rawData);
  if (!bytesEqual(certSpki, await spkiBytes(keys.publicKey))) {
    throw new DroverError(
      "failed_precondition",
      "CA private key does not match the CA certificate",
    );
  }
  const constraints = cert.getExtension<x509.BasicConstraintsExtension>(oid.basicConstraints);
  if (!constraints?.ca) {
    throw new DroverError(
      "failed_precondition",
      "certificate is not a CA (basicConstraints CA:FALSE)",
    );
  }
  if (!(await cert.verify({ publicKey: keys.publicKey, signatureOnly: true }))) {
    throw new DroverError("failed_precondition", "CA certificate is not self-signed by its key");
  }
  const organizations = cert.subjectName.getField(oid.organization);
  const fleetId = organizations[0];
  if (organizations.length !== 1 || !isValidId(fleetId)) {
    throw new DroverError("failed_precondition", "CA certificate subject O is not a fleet id");
  }
  const certificatePem = cert.toString("pem");
  return {
    cert,
    ca: { fleetId, certificatePem, keys, publicKeyHash: await publicKeyHash(certificatePem) },
  };
}

function isSitesSubject(cert: x509.X509Certificate): boolean {
  return cert.subjectName.getField(oid.organizationalUnit).includes(sitesUnit);
}

/**
 * Whether a PEM certificate is a sites CA's (subject OU=sites): never a trust
 * root for the control plane, so the CLI refuses it where a fleet CA is asked for.
 */
export function isSitesCaCertificate(certificatePem: string): boolean {
  return isSitesSubject(parseCertificate(certificatePem));
}

/** Loads a persisted fleet CA (see loadCA); the sites CA's files are refused. */
export async function loadFleetCA(pems: {
  certificatePem: string;
  privateKeyPem: string;
}): Promise<FleetCA> {
  const { cert, ca } = await loadCA(pems);
  if (isSitesSubject(cert)) {
    throw new DroverError("failed_precondition", "this is the sites CA, not the fleet CA");
  }
  return { purpose: "fleet", ...ca };
}

/**
 * Loads a persisted sites CA (see loadCA): it must carry OU=sites and be
 * restricted to serverAuth, so the fleet CA's files are refused.
 */
export async function loadSitesCA(pems: {
  certificatePem: string;
  privateKeyPem: string;
}): Promise<SitesCA> {
  const { cert, ca } = await loadCA(pems);
  const usages = cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [];
  const serverAuthOnly = usages.length === 1 && usages[0] === x509.ExtendedKeyUsage.serverAuth;
  if (!isSitesSubject(cert) || !serverAuthOnly) {
    throw new DroverError(
      "failed_precondition",
      "not a sites CA (subject OU=sites and extended key usage serverAuth only)",
    );
  }
  return { purpose: "sites", ...ca };
}
