import { describe, expect, test } from "bun:test";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { createCertificateRequest, generateKeyPair, verifyCertificateRequest } from "./index.ts";
import { x509 } from "./x509.ts";

const keys = await generateKeyPair();
const der = await createCertificateRequest(keys, "pi-1");

/** Offset of a byte inside the DER ECDSA signature, which ends the CSR. */
function signatureByteOffset(csr: Uint8Array): number {
  const signature = new Uint8Array(new x509.Pkcs10CertificateRequest(csr).signature);
  expect(signature.length).toBeGreaterThanOrEqual(70);
  // Sanity: the signature really occupies the tail of the encoding.
  expect(csr.slice(csr.length - signature.length)).toEqual(signature);
  return csr.length - 5; // within s, so the DER structure stays intact
}

describe("certificate requests", () => {
  test("verify returns the requester's public key", async () => {
    const { publicKey } = await verifyCertificateRequest(der);
    expect(new Uint8Array(await crypto.subtle.exportKey("spki", publicKey))).toEqual(
      new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)),
    );
    expect(publicKey.type).toBe("public");
  });

  test("subject CN is optional and no SAN is requested", async () => {
    const bare = new x509.Pkcs10CertificateRequest(await createCertificateRequest(keys));
    expect(bare.subject).toBe("");
    expect(bare.getExtension("2.5.29.17")).toBeNull();
    expect(new x509.Pkcs10CertificateRequest(der).subject).toBe("CN=pi-1");
    await verifyCertificateRequest(new Uint8Array(bare.rawData));
  });

  test("a tampered signature byte is invalid_argument", async () => {
    const tampered = der.slice();
    const at = signatureByteOffset(der);
    tampered[at] = (tampered[at] ?? 0) ^ 0x01;
    const error = await expectDroverRejection(verifyCertificateRequest(tampered));
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toBe("certificate request signature invalid");
  });

  test("a tampered subject (signed content) is invalid_argument", async () => {
    const tampered = der.slice();
    const at = Buffer.from(tampered).indexOf("pi-1");
    expect(at).toBeGreaterThan(0);
    tampered[at] = "q".charCodeAt(0);
    const error = await expectDroverRejection(verifyCertificateRequest(tampered));
    expect(error.message).toBe("certificate request signature invalid");
  });

  test("a request signed by a different key is refused", async () => {
    const other = await generateKeyPair();
    // Public key of `keys`, signature by `other`: proof of possession fails.
    const forged = await x509.Pkcs10CertificateRequestGenerator.create({
      keys: { publicKey: keys.publicKey, privateKey: other.privateKey },
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    });
    const error = await expectDroverRejection(
      verifyCertificateRequest(new Uint8Array(forged.rawData)),
    );
    expect(error.message).toBe("certificate request signature invalid");
  });

  test("garbage is invalid_argument", async () => {
    const inputs = [
      new Uint8Array(),
      new Uint8Array([1, 2, 3, 4]),
      crypto.getRandomValues(new Uint8Array(300)),
      der.slice(0, der.length - 10),
      new TextEncoder().encode("-----BEGIN CERTIFICATE REQUEST-----"),
      new Uint8Array(20_000),
    ];
    for (const input of inputs) {
      expect((await expectDroverRejection(verifyCertificateRequest(input))).code).toBe(
        "invalid_argument",
      );
    }
  });

  test("creating with a non-P-256 key is refused", async () => {
    const p384 = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    expect((await expectDroverRejection(createCertificateRequest(p384))).code).toBe(
      "invalid_argument",
    );
  });
});

describe("certificate requests are read strictly (issue 13: verified once, from the DER)", () => {
  test("trailing bytes after the request are refused", async () => {
    const trailing = new Uint8Array([...der, 0x00]);
    const error = await expectDroverRejection(verifyCertificateRequest(trailing));
    expect(error.code).toBe("invalid_argument");
  });

  test("a NULL parameter on the signature algorithm (not RFC 5758) is refused", async () => {
    // ecdsa-with-SHA256 with NULL parameters instead of none: the algorithm SEQUENCE grows by
    // two bytes, and so do the outer SEQUENCE's length (long form, two bytes here).
    const algorithm = [0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    const at = der.findLastIndex((_, i) => algorithm.every((byte, j) => der[i + j] === byte));
    expect(at).toBeGreaterThan(0);
    expect(der[0]).toBe(0x30);
    expect(der[1]).toBe(0x81);
    const withNull = new Uint8Array([
      0x30,
      0x81,
      (der[2] ?? 0) + 2,
      ...der.slice(3, at),
      0x30,
      0x0c,
      ...algorithm.slice(2),
      0x05,
      0x00,
      ...der.slice(at + algorithm.length),
    ]);
    const error = await expectDroverRejection(verifyCertificateRequest(withNull));
    expect(error.code).toBe("invalid_argument");
  });
});
