/**
 * A leaf certificate of Drover's one shape, encoded directly: v3,
 * ecdsa-with-SHA256, and the fixed extension list basicConstraints CA:FALSE
 * (critical), keyUsage digitalSignature (critical), one extended key usage,
 * subjectAltName, subjectKeyIdentifier, authorityKeyIdentifier. Only the
 * serial, validity, names, key and SANs vary, so one WebCrypto signature is
 * the whole cost (issue 13: 0.2 ms instead of 2 ms through a schema library).
 */
import {
  childrenOf,
  contentOf,
  contextTag,
  ecdsaSignatureToDer,
  expectNode,
  objectIdentifier,
  readNode,
  sequence,
  tag,
  time,
  tlv,
  unsignedInteger,
  utf8,
} from "./der.ts";
import { fromHex } from "./encoding.ts";
import { oid } from "./x509.ts";

export interface LeafNames {
  organization?: string;
  organizationalUnit?: string;
  commonName?: string;
}

export type AltName = { type: "dns" | "ip" | "uri"; value: string };

export interface LeafFields {
  /** Lowercase hex of a positive serial (randomSerial). */
  serial: string;
  /** The issuing CA's subject Name, DER, byte for byte (chain building compares bytes). */
  issuer: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  subject: LeafNames;
  /** DER SubjectPublicKeyInfo of the P-256 key being certified. */
  subjectPublicKeyInfo: Uint8Array;
  extendedKeyUsage: "serverAuth" | "clientAuth";
  altNames: readonly AltName[];
  /** The CA's subjectKeyIdentifier. */
  authorityKeyId: Uint8Array;
}

const ecdsaWithSha256 = sequence(objectIdentifier("1.2.840.10045.4.3.2"));
const version3 = tlv(contextTag(0, true), unsignedInteger(new Uint8Array([2])));
const critical = tlv(tag.boolean, new Uint8Array([0xff]));
const keyUsageOid = "2.5.29.15";
const extendedKeyUsageOid = "2.5.29.37";
const authorityKeyIdOid = "2.5.29.35";
const fixedExtensions = [
  // basicConstraints: CA FALSE is the DEFAULT, so the SEQUENCE is empty.
  sequence(objectIdentifier(oid.basicConstraints), critical, tlv(tag.octetString, sequence())),
  // keyUsage: BIT STRING with 7 unused bits, bit 0 (digitalSignature) set.
  sequence(
    objectIdentifier(keyUsageOid),
    critical,
    tlv(tag.octetString, tlv(tag.bitString, new Uint8Array([0x07, 0x80]))),
  ),
];
const extendedKeyUsages = {
  serverAuth: objectIdentifier("1.3.6.1.5.5.7.3.1"),
  clientAuth: objectIdentifier("1.3.6.1.5.5.7.3.2"),
};

// PrintableString's alphabet (X.680 41.4); anything else is UTF8String, as @peculiar/x509 chose.
const printable = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function directoryString(value: string): Uint8Array {
  return tlv(printable.test(value) ? tag.printableString : tag.utf8String, utf8(value));
}

function nameAttributes(names: LeafNames): [string, string][] {
  const out: [string, string][] = [];
  if (names.organization !== undefined) out.push(["O", names.organization]);
  if (names.organizationalUnit !== undefined) out.push(["OU", names.organizationalUnit]);
  if (names.commonName !== undefined) out.push(["CN", names.commonName]);
  return out;
}

const attributeOids: Record<string, string> = {
  O: oid.organization,
  OU: oid.organizationalUnit,
  CN: oid.commonName,
};

/** Name: one RDN per attribute, in the order O, OU, CN (the order subjectName uses). */
export function encodeName(names: LeafNames): Uint8Array {
  return sequence(
    ...nameAttributes(names).map(([type, value]) =>
      tlv(
        tag.set,
        sequence(objectIdentifier(attributeOids[type] as string), directoryString(value)),
      ),
    ),
  );
}

/**
 * The subject as @peculiar/x509 prints it ("O=f, OU=agent, CN=a1"), the form
 * IssuedCertificate.subject has always had. Drover's names (ids, roles, host
 * names, IP addresses) hold no character RFC 4514 escapes.
 */
export function nameText(names: LeafNames): string {
  return nameAttributes(names)
    .map(([type, value]) => `${type}=${value}`)
    .join(", ");
}

/** IPv4 dotted quad or the eight full groups normalizeIp returns. */
function ipBytes(ip: string): Uint8Array {
  if (!ip.includes(":")) return new Uint8Array(ip.split(".").map(Number));
  return fromHex(ip.replaceAll(":", ""));
}

function generalName(name: AltName): Uint8Array {
  switch (name.type) {
    case "dns":
      return tlv(contextTag(2, false), utf8(name.value));
    case "uri":
      return tlv(contextTag(6, false), utf8(name.value));
    case "ip":
      return tlv(contextTag(7, false), ipBytes(name.value));
  }
}

function extension(id: string, value: Uint8Array): Uint8Array {
  return sequence(objectIdentifier(id), tlv(tag.octetString, value));
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 over the subjectPublicKey bits of a DER SubjectPublicKeyInfo. */
export async function keyIdentifier(spki: Uint8Array): Promise<Uint8Array> {
  const [, bits] = childrenOf(spki, readNode(spki, 0));
  const key = contentOf(spki, expectNode(bits, tag.bitString, "subjectPublicKey")).subarray(1);
  return new Uint8Array(await globalThis.crypto.subtle.digest("SHA-1", key));
}

/** The DER tbsCertificate of the one leaf shape. */
export async function encodeTbsCertificate(fields: LeafFields): Promise<Uint8Array> {
  const keyId = await keyIdentifier(fields.subjectPublicKeyInfo);
  const extensions = [
    ...fixedExtensions,
    extension(extendedKeyUsageOid, sequence(extendedKeyUsages[fields.extendedKeyUsage])),
    extension(oid.subjectAltName, sequence(...fields.altNames.map(generalName))),
    extension(oid.subjectKeyIdentifier, tlv(tag.octetString, keyId)),
    extension(authorityKeyIdOid, sequence(tlv(contextTag(0, false), fields.authorityKeyId))),
  ];
  return sequence(
    version3,
    unsignedInteger(fromHex(fields.serial)),
    ecdsaWithSha256,
    fields.issuer,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    encodeName(fields.subject),
    fields.subjectPublicKeyInfo,
    tlv(contextTag(3, true), sequence(...extensions)),
  );
}

/** Signs the tbsCertificate with the CA's P-256 key: the whole certificate, DER. */
export async function signLeafCertificate(
  fields: LeafFields,
  signingKey: CryptoKey,
): Promise<Uint8Array> {
  const tbs = await encodeTbsCertificate(fields);
  const signature = new Uint8Array(
    await globalThis.crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, signingKey, tbs),
  );
  const signatureBits = tlv(tag.bitString, new Uint8Array([0]), ecdsaSignatureToDer(signature));
  return sequence(tbs, ecdsaWithSha256, signatureBits);
}
