// Issue 13, connection admission: identity and serial read from node:crypto's X509Certificate equal lib/pki's DER parse.
import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { expectDroverThrow } from "../../test/support/errors.ts";
import { createFleetCA } from "./ca.ts";
import { certificateInfo, issueClientCertificate, issueServerCertificate } from "./certificates.ts";
import { encodePem, fromHex } from "./encoding.ts";
import { identityFromCertificate, identityFromSubjectAltName } from "./identity.ts";
import { generateKeyPair, spkiBytes } from "./keys.ts";
import { signLeafCertificate } from "./leaf-der.ts";
import { normalizeSerial } from "./serial.ts";
import { parseCertificate, x509 } from "./x509.ts";

const ca = await createFleetCA({ fleetId: "fleet-a" });
const keys = await generateKeyPair();

describe("identity and serial from the TLS layer's certificate object", () => {
  test("equal identityFromCertificate and certificateInfo on issued certificates", async () => {
    for (let i = 0; i < 40; i++) {
      const identity = {
        fleetId: "fleet-a",
        role: i % 2 ? "agent" : "operator",
        id: `m-${i}`,
      } as const;
      const issued = await issueClientCertificate(ca, { identity, publicKey: keys.publicKey });
      const node = new X509Certificate(issued.certificatePem);
      expect(identityFromSubjectAltName(node.subjectAltName)).toEqual(
        identityFromCertificate(issued.certificatePem),
      );
      expect(normalizeSerial(node.serialNumber)).toBe(
        certificateInfo(issued.certificatePem).serial,
      );
      expect(normalizeSerial(node.serialNumber)).toBe(issued.serial);
    }
  });

  test("serials with a leading zero nibble or a 0x01 first byte read the same both ways", async () => {
    const caCert = parseCertificate(ca.certificatePem);
    const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
    for (const serial of [
      "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
      "01000000000000000000000000000000",
      "7fffffffffffffffffffffffffffffff",
    ]) {
      const der = await signLeafCertificate(
        {
          serial,
          issuer: new Uint8Array(caCert.subjectName.toArrayBuffer()),
          notBefore: new Date("2026-01-01T00:00:00Z"),
          notAfter: new Date("2026-02-01T00:00:00Z"),
          subject: { organization: "fleet-a", organizationalUnit: "agent", commonName: "a1" },
          subjectPublicKeyInfo: await spkiBytes(keys.publicKey),
          extendedKeyUsage: "clientAuth",
          altNames: [{ type: "uri", value: "drover://fleet-a/agent/a1" }],
          authorityKeyId: fromHex(ski?.keyId ?? ""),
        },
        ca.keys.privateKey,
      );
      const node = new X509Certificate(encodePem(der, "CERTIFICATE"));
      expect(normalizeSerial(node.serialNumber)).toBe(certificateInfo(der).serial);
    }
  });

  test("a certificate without a drover URI, or with two, carries no identity", async () => {
    const server = await issueServerCertificate(ca, {
      publicKey: keys.publicKey,
      hostnames: ["drover.example"],
      ips: ["10.0.0.1"],
    });
    const text = new X509Certificate(server.certificatePem).subjectAltName;
    expect(text).toContain("DNS:drover.example");
    expect(expectDroverThrow(() => identityFromSubjectAltName(text)).code).toBe("unauthenticated");
    expect(expectDroverThrow(() => identityFromSubjectAltName(undefined)).code).toBe(
      "unauthenticated",
    );
    expect(
      expectDroverThrow(() =>
        identityFromSubjectAltName("URI:drover://fleet-a/agent/a1, URI:drover://fleet-a/agent/a2"),
      ).message,
    ).toContain("more than one");
  });

  test("a JSON-quoted value (Node's form for special characters) is one value, never split", () => {
    // The quoted value holds a comma and what looks like a second URI entry.
    const text = 'DNS:x.example, URI:"drover://fleet-a/agent/a1, URI:drover://fleet-a/agent/a2"';
    expect(expectDroverThrow(() => identityFromSubjectAltName(text)).message).toBe(
      "certificate identity URI malformed",
    );
    expect(identityFromSubjectAltName('DNS:"x,y", URI:drover://fleet-a/agent/a1')).toEqual({
      fleetId: "fleet-a",
      role: "agent",
      id: "a1",
    });
    expect(expectDroverThrow(() => identityFromSubjectAltName("garbage")).code).toBe(
      "unauthenticated",
    );
  });
});

describe("normalizeSerial", () => {
  test("every reader's form of one serial is the same: sign padding, case, a dropped leading zero nibble (Deno)", () => {
    for (const form of ["01AB", "01ab", "1AB", "0001ab"])
      expect(normalizeSerial(form)).toBe("01ab");
    expect(normalizeSerial("00FF10")).toBe("ff10");
    expect(normalizeSerial("7f00")).toBe("7f00");
  });
});
