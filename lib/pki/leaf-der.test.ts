// Issue 13, registration speed: the leaf certificate encoded directly equals @peculiar/x509's encoding of the same fields.
import { describe, expect, test } from "bun:test";
import { createFleetCA, createSitesCA } from "./ca.ts";
import { certificateInfo, issueClientCertificate } from "./certificates.ts";
import { bytesOf, childrenOf, readNode } from "./der.ts";
import { decodePem, fromHex } from "./encoding.ts";
import { identityFromCertificate } from "./identity.ts";
import { generateKeyPair, spkiBytes } from "./keys.ts";
import { type AltName, encodeTbsCertificate, keyIdentifier, type LeafFields } from "./leaf-der.ts";
import { subjectName } from "./names.ts";
import { ecdsaSha256, parseCertificate, x509 } from "./x509.ts";

const fleetCa = await createFleetCA({ fleetId: "fleet-a" });
const sitesCa = await createSitesCA({ fleetId: "fleet-a" });
const subjectKeys = await generateKeyPair();

/** The tbsCertificate of a DER certificate: its first element. */
function tbsOf(der: Uint8Array): Uint8Array {
  const [tbs] = childrenOf(der, readNode(der, 0));
  if (!tbs) throw new Error("no tbsCertificate");
  return bytesOf(der, tbs);
}

/** The same certificate built the old way, through @peculiar/x509's generator (the oracle). */
async function peculiarTbs(fields: LeafFields, caPem: string, caKey: CryptoKey) {
  const ca = parseCertificate(caPem);
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski) throw new Error("CA without SKI");
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: fields.serial,
    subject: subjectName(fields.subject),
    issuer: new x509.Name(ca.subjectName.toArrayBuffer()),
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    publicKey: subjectKeys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ecdsaSha256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage[fields.extendedKeyUsage]]),
      new x509.SubjectAlternativeNameExtension(
        fields.altNames.map(({ type, value }) => ({ type: type === "uri" ? "url" : type, value })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(subjectKeys.publicKey),
      new x509.AuthorityKeyIdentifierExtension(ski.keyId),
    ],
  });
  return { tbs: tbsOf(new Uint8Array(cert.rawData)), subject: cert.subject };
}

async function fieldsFor(
  caPem: string,
  subject: LeafFields["subject"],
  extendedKeyUsage: LeafFields["extendedKeyUsage"],
  altNames: AltName[],
  notAfter = new Date("2027-01-02T03:04:05Z"),
): Promise<LeafFields> {
  const ca = parseCertificate(caPem);
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  return {
    // A first byte under 0x10 and one with the high bit clear: both edge forms of the INTEGER.
    serial: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    issuer: new Uint8Array(ca.subjectName.toArrayBuffer()),
    notBefore: new Date("2026-12-05T10:00:00Z"),
    notAfter,
    subject,
    subjectPublicKeyInfo: await spkiBytes(subjectKeys.publicKey),
    extendedKeyUsage,
    altNames,
    authorityKeyId: fromHex(ski?.keyId ?? ""),
  };
}

describe("leaf certificates encoded directly", () => {
  const profiles: [
    string,
    () => Promise<{ fields: LeafFields; ca: typeof fleetCa | typeof sitesCa }>,
  ][] = [
    [
      "client (agent identity)",
      async () => ({
        ca: fleetCa,
        fields: await fieldsFor(
          fleetCa.certificatePem,
          { organization: "fleet-a", organizationalUnit: "agent", commonName: "a1" },
          "clientAuth",
          [{ type: "uri", value: "drover://fleet-a/agent/a1" }],
        ),
      }),
    ],
    [
      "server (DNS, IPv4, IPv6 SANs)",
      async () => ({
        ca: fleetCa,
        fields: await fieldsFor(
          fleetCa.certificatePem,
          { organization: "fleet-a", commonName: "drover.example" },
          "serverAuth",
          [
            { type: "dns", value: "drover.example" },
            { type: "ip", value: "10.0.0.1" },
            { type: "ip", value: "fd00:0000:0000:0000:0000:0000:0000:00ff" },
          ],
        ),
      }),
    ],
    [
      "site (wildcard CN: UTF8String) valid past 2049 (GeneralizedTime)",
      async () => ({
        ca: sitesCa,
        fields: await fieldsFor(
          sitesCa.certificatePem,
          { commonName: "*.shop.example" },
          "serverAuth",
          [{ type: "dns", value: "*.shop.example" }],
          new Date("2051-06-01T00:00:00Z"),
        ),
      }),
    ],
    [
      "site without a subject",
      async () => ({
        ca: sitesCa,
        fields: await fieldsFor(sitesCa.certificatePem, {}, "serverAuth", [
          { type: "dns", value: "x.example" },
        ]),
      }),
    ],
  ];

  for (const [name, build] of profiles) {
    test(`${name}: tbsCertificate is byte-identical to @peculiar/x509's`, async () => {
      const { fields, ca } = await build();
      const expected = await peculiarTbs(fields, ca.certificatePem, ca.keys.privateKey);
      expect(Buffer.from(await encodeTbsCertificate(fields)).toString("hex")).toBe(
        Buffer.from(expected.tbs).toString("hex"),
      );
    });
  }

  test("an issued client certificate reads back (lib/pki's parser) as IssuedCertificate says", async () => {
    const identity = { fleetId: "fleet-a", role: "agent" as const, id: "a1" };
    const now = new Date("2026-12-05T10:00:00.750Z");
    const issued = await issueClientCertificate(fleetCa, {
      identity,
      publicKey: subjectKeys.publicKey,
      now,
    });
    const der = decodePem(issued.certificatePem, "CERTIFICATE");
    expect(certificateInfo(der)).toEqual({
      serial: issued.serial,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      subject: issued.subject,
    });
    expect(issued.subject).toBe("O=fleet-a, OU=agent, CN=a1");
    // Whole seconds, as X.509 stores them.
    expect(issued.notBefore.toISOString()).toBe("2026-12-05T09:59:00.000Z");
    expect(identityFromCertificate(der)).toEqual(identity);
    const cert = parseCertificate(der);
    const ca = parseCertificate(fleetCa.certificatePem);
    expect(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true);
  });

  test("keyIdentifier (the AKI of a CA without an SKI) equals the SKI the CA was given", async () => {
    for (const ca of [fleetCa, sitesCa]) {
      const cert = parseCertificate(ca.certificatePem);
      const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
      expect(
        Buffer.from(await keyIdentifier(new Uint8Array(cert.publicKey.rawData))).toString("hex"),
      ).toBe(ski?.keyId ?? "missing");
    }
  });
});
