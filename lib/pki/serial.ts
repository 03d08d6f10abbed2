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

/**
 * Lowercase hex of the serial's minimal bytes, the form IssuedCertificate.serial
 * uses: no DER sign padding, and whole bytes even where a reader drops a
 * leading zero nibble (Deno's X509Certificate prints 0x01ab as "1AB").
 */
export function normalizeSerial(hex: string): string {
  const digits = hex.toLowerCase().replace(/^0+(?=.)/, "");
  return digits.length % 2 === 1 ? `0${digits}` : digits;
}
