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
 * A fleet's certificate authority. The fleet id is stored in the CA subject's
 * O attribute (the same place client certificates carry it), which is where
 * loadFleetCA reads it back from.
 */
export interface FleetCA {
  fleetId: string;
  certificatePem: string;
  keys: KeyPair;
  publicKeyHash: string;
}

/** Back-dating of notBefore so peers whose clocks run slightly behind accept fresh certificates. */
export const clockSkewMs = 60_000;

const dayMs = 86_400_000;

export function caCommonName(fleetId: string): string {
  return `Drover fleet CA ${fleetId}`;
}

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

/**
 * Self-signed fleet CA: basicConstraints CA:true pathLen 0 (critical), keyUsage
 * keyCertSign+cRLSign (critical), SKI. notBefore is back-dated by one minute.
 */
export async function createFleetCA(
  options: { fleetId?: string; now?: Date; validityDays?: number } = {},
): Promise<FleetCA> {
  const fleetId = options.fleetId ?? `fleet-${toHex(randomBytes(4))}`;
  if (!isValidId(fleetId)) {
    throw new DroverError("invalid_argument", `invalid fleet id ${JSON.stringify(fleetId)}`);
  }
  const now = validDate(options.now, "now");
  const validityDays = positiveNumber(options.validityDays ?? 3650, "validityDays");
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName({ organization: fleetId, commonName: caCommonName(fleetId) }),
    notBefore: new Date(now.getTime() - clockSkewMs),
    notAfter: new Date(now.getTime() + validityDays * dayMs),
    keys,
    signingAlgorithm: ecdsaSha256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certificatePem = cert.toString("pem");
  return { fleetId, certificatePem, keys, publicKeyHash: await publicKeyHash(certificatePem) };
}

/**
 * Loads a persisted CA. Refuses (failed_precondition) a key that does not match
 * the certificate, a certificate that is not a self-signed CA, or one without a
 * valid fleet id in its subject O. Expiry is not checked here.
 */
export async function loadFleetCA(pems: {
  certificatePem: string;
  privateKeyPem: string;
}): Promise<FleetCA> {
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
  return { fleetId, certificatePem, keys, publicKeyHash: await publicKeyHash(certificatePem) };
}
