// Issue 13, registration speed: the DER reader and ECDSA signature forms the fast CSR and certificate paths rely on.
import { describe, expect, test } from "bun:test";
import { expectDroverThrow } from "../../test/support/errors.ts";
import {
  childrenOf,
  ecdsaSignatureFromDer,
  ecdsaSignatureToDer,
  objectIdentifier,
  readNode,
  sequence,
  tag,
  tlv,
} from "./der.ts";

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

describe("DER", () => {
  test("lengths: short, long and the 0x80 boundary round-trip through the reader", () => {
    for (const size of [0, 1, 127, 128, 255, 256, 70_000]) {
      const node = tlv(tag.octetString, new Uint8Array(size));
      const read = readNode(node, 0);
      expect(read.end - read.contentStart).toBe(size);
      expect(read.end).toBe(node.length);
    }
  });

  test("object identifiers encode as openssl does (multi-byte arcs)", () => {
    expect(hex(objectIdentifier("1.2.840.10045.4.3.2"))).toBe("06082a8648ce3d040302");
    expect(hex(objectIdentifier("2.5.29.17"))).toBe("0603551d11");
  });

  test("the reader refuses truncation, overruns, indefinite and non-minimal lengths", () => {
    const bad = [
      [0x30],
      [0x30, 0x05, 0x01],
      [0x30, 0x80, 0x00, 0x00],
      [0x04, 0x81, 0x05, 1, 2, 3, 4, 5],
      [0x04, 0x82, 0x00, 0x90],
      [0x1f, 0x01, 0x00],
    ];
    for (const bytes of bad) {
      expect(expectDroverThrow(() => readNode(new Uint8Array(bytes), 0)).code).toBe(
        "invalid_argument",
      );
    }
    // A child running past its parent's end.
    const parent = new Uint8Array([0x30, 0x02, 0x04, 0x05, 0, 0, 0, 0, 0]);
    expect(expectDroverThrow(() => childrenOf(parent, readNode(parent, 0))).code).toBe(
      "invalid_argument",
    );
  });

  test("ECDSA signatures: WebCrypto r||s to DER and back, with high bits and leading zeros", async () => {
    const cases = [
      new Uint8Array(64).fill(0xff),
      new Uint8Array([...new Uint8Array(31), 1, ...new Uint8Array(31), 0x80]),
      new Uint8Array([
        0x7f,
        ...new Uint8Array(31).fill(0xaa),
        0x00,
        0x80,
        ...new Uint8Array(30).fill(1),
      ]),
    ];
    for (const raw of cases) {
      const der = ecdsaSignatureToDer(raw);
      expect(hex(ecdsaSignatureFromDer(der, 32))).toBe(hex(raw));
    }
    // A real signature verifies after the round trip.
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const data = new TextEncoder().encode("tbs");
    const algorithm = { name: "ECDSA", hash: "SHA-256" };
    const raw = new Uint8Array(await crypto.subtle.sign(algorithm, keys.privateKey, data));
    const back = ecdsaSignatureFromDer(ecdsaSignatureToDer(raw), 32);
    expect(await crypto.subtle.verify(algorithm, keys.publicKey, back, data)).toBe(true);
  });

  test("ECDSA signatures: negative, oversized or padded integers are malformed", () => {
    const int = (...bytes: number[]) => tlv(tag.integer, new Uint8Array(bytes));
    const one = int(1);
    const bad = [
      sequence(int(0x80), one),
      sequence(int(0, 1), one),
      sequence(tlv(tag.integer, new Uint8Array(33).fill(1)), one),
      sequence(one),
      sequence(one, one, one),
      new Uint8Array([...sequence(one, one), 0]),
    ];
    for (const der of bad) {
      expect(expectDroverThrow(() => ecdsaSignatureFromDer(der, 32)).code).toBe("invalid_argument");
    }
  });
});
