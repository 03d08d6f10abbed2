import { randomBytes, toHex } from "./encoding.ts";

/**
 * 16 random bytes, first byte forced into 0x01..0x7f: the DER INTEGER stays
 * positive and minimally encoded at exactly 16 bytes, so the hex we report is
 * byte-for-byte what is in the certificate (and what openssl prints).
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 0x01;
  return toHex(bytes);
}

/** Lowercase hex without DER sign padding, the form IssuedCertificate.serial uses. */
export function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^(00)+(?=..)/, "");
}
