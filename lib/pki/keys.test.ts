import { describe, expect, test } from "bun:test";
import { expectDroverRejection } from "../../test/support/errors.ts";
import {
  createFleetCA,
  exportPrivateKeyPem,
  exportPublicKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  publicKeyHash,
} from "./index.ts";

const alg = { name: "ECDSA", hash: "SHA-256" } as const;
const data = new TextEncoder().encode("drover");

async function spki(key: CryptoKey): Promise<string> {
  return Buffer.from(await crypto.subtle.exportKey("spki", key)).toString("hex");
}

describe("key pairs", () => {
  test("are extractable ECDSA P-256 keys with sign/verify usages", async () => {
    const { privateKey, publicKey } = await generateKeyPair();
    for (const key of [privateKey, publicKey]) {
      expect(key.extractable).toBe(true);
      expect(key.algorithm as unknown).toEqual({ name: "ECDSA", namedCurve: "P-256" });
    }
    expect(privateKey.type).toBe("private");
    expect(privateKey.usages).toEqual(["sign"]);
    expect(publicKey.usages).toEqual(["verify"]);
  });

  test("PEM export uses the right headers and 64-column lines", async () => {
    const keys = await generateKeyPair();
    const priv = await exportPrivateKeyPem(keys.privateKey);
    const pub = await exportPublicKeyPem(keys.publicKey);
    expect(priv).toMatch(
      /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PRIVATE KEY-----\n$/,
    );
    expect(pub).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PUBLIC KEY-----\n$/,
    );
    for (const line of priv.split("\n")) expect(line.length).toBeLessThanOrEqual(64);
  });

  test("import round-trips and derives the matching public key", async () => {
    const keys = await generateKeyPair();
    const imported = await importPrivateKeyPem(await exportPrivateKeyPem(keys.privateKey));
    expect(await spki(imported.publicKey)).toBe(await spki(keys.publicKey));
    expect(imported.privateKey.extractable).toBe(true);
    expect(imported.publicKey.usages).toEqual(["verify"]);
    // The imported private key signs for the original public key, and vice versa.
    const sig = await crypto.subtle.sign(alg, imported.privateKey, data);
    expect(await crypto.subtle.verify(alg, keys.publicKey, sig, data)).toBe(true);
    const sig2 = await crypto.subtle.sign(alg, keys.privateKey, data);
    expect(await crypto.subtle.verify(alg, imported.publicKey, sig2, data)).toBe(true);
    // Re-export is byte-identical: nothing is lost in the round trip.
    expect(await exportPrivateKeyPem(imported.privateKey)).toBe(
      await exportPrivateKeyPem(keys.privateKey),
    );
  });

  test("each call yields fresh, independent keys", async () => {
    const [a, b] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    expect(await spki(a.publicKey)).not.toBe(await spki(b.publicKey));
    const [ca1, ca2] = await Promise.all([createFleetCA(), createFleetCA()]);
    expect(ca1.fleetId).not.toBe(ca2.fleetId);
    expect(ca1.publicKeyHash).not.toBe(ca2.publicKeyHash);
    expect(ca1.keys.privateKey.extractable).toBe(true);
  });

  test("wrong inputs are invalid_argument DroverErrors", async () => {
    const keys = await generateKeyPair();
    expect((await expectDroverRejection(importPrivateKeyPem("not a pem"))).code).toBe(
      "invalid_argument",
    );
    const wrongLabel = (await exportPublicKeyPem(keys.publicKey)).replaceAll("PUBLIC", "PRIVATE");
    expect((await expectDroverRejection(importPrivateKeyPem(wrongLabel))).code).toBe(
      "invalid_argument",
    );
    const badBase64 = "-----BEGIN PRIVATE KEY-----\nAAAA====AAAA\n-----END PRIVATE KEY-----\n";
    expect((await expectDroverRejection(importPrivateKeyPem(badBase64))).code).toBe(
      "invalid_argument",
    );
    expect((await expectDroverRejection(exportPrivateKeyPem(keys.publicKey))).code).toBe(
      "invalid_argument",
    );
    expect((await expectDroverRejection(exportPublicKeyPem(keys.privateKey))).code).toBe(
      "invalid_argument",
    );
    const hmac = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
    expect((await expectDroverRejection(exportPrivateKeyPem(hmac))).code).toBe("invalid_argument");
    expect((await expectDroverRejection(publicKeyHash("garbage"))).code).toBe("invalid_argument");
  });

  test("an Ed25519 PKCS#8 key is refused", async () => {
    const ed = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", ed.privateKey)).toString(
      "base64",
    );
    const pem = `-----BEGIN PRIVATE KEY-----\n${der}\n-----END PRIVATE KEY-----\n`;
    expect((await expectDroverRejection(importPrivateKeyPem(pem))).code).toBe("invalid_argument");
  });
});
