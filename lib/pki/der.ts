/**
 * The few DER shapes Drover's fast paths write and read: enough to build a
 * leaf certificate from parts and to take a CSR apart, nothing general. A
 * hand-written encoder costs microseconds where a schema library serializes
 * and re-parses every node (issue 13).
 */
import { DroverError } from "../errors/index.ts";

export const tag = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Context-specific tag number `n`, constructed (EXPLICIT / [n] SEQUENCE) or primitive (IMPLICIT). */
export function contextTag(n: number, constructed: boolean): number {
  return (constructed ? 0xa0 : 0x80) | n;
}

function lengthBytes(length: number): number[] {
  if (length < 0x80) return [length];
  const out: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) out.unshift(rest & 0xff);
  return [0x80 | out.length, ...out];
}

/** One TLV whose content is the concatenation of `parts`. */
export function tlv(tagByte: number, ...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const header = lengthBytes(length);
  const out = new Uint8Array(1 + header.length + length);
  out[0] = tagByte;
  out.set(header, 1);
  let at = 1 + header.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export const sequence = (...parts: Uint8Array[]): Uint8Array => tlv(tag.sequence, ...parts);

/** A positive INTEGER from big-endian magnitude bytes: leading zeros dropped, a 0x00 added when the top bit is set. */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const pad = (trimmed[0] ?? 0) & 0x80 ? new Uint8Array([0]) : new Uint8Array();
  return tlv(tag.integer, pad, trimmed);
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** OBJECT IDENTIFIER from dotted form (constants only: no validation beyond arithmetic). */
export function objectIdentifier(dotted: string): Uint8Array {
  const [first = 0, second = 0, ...rest] = dotted.split(".").map(Number);
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const base128: number[] = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
      base128.unshift(0x80 | (value & 0x7f));
    }
    bytes.push(...base128);
  }
  return tlv(tag.oid, new Uint8Array(bytes));
}

const two = (n: number): string => String(n).padStart(2, "0");

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, UTC. */
export function time(date: Date): Uint8Array {
  const year = date.getUTCFullYear();
  const rest =
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes()) +
    two(date.getUTCSeconds());
  return year >= 1950 && year < 2050
    ? tlv(tag.utcTime, utf8(`${two(year % 100)}${rest}Z`))
    : tlv(tag.generalizedTime, utf8(`${String(year).padStart(4, "0")}${rest}Z`));
}

/** One element of a DER buffer: its tag and where its content lies. */
export interface DerNode {
  tag: number;
  /** First byte of the TLV (its tag). */
  start: number;
  /** First byte of the content. */
  contentStart: number;
  /** One past the last byte of the content (and of the TLV). */
  end: number;
}

function malformed(what: string): DroverError {
  return new DroverError("invalid_argument", `malformed DER: ${what}`);
}

/** Reads the TLV at `offset`, which must end at or before `limit`. Definite, minimal lengths only. */
export function readNode(der: Uint8Array, offset: number, limit = der.length): DerNode {
  if (offset + 2 > limit) throw malformed("truncated header");
  const tagByte = der[offset] as number;
  if ((tagByte & 0x1f) === 0x1f) throw malformed("multi-byte tags are not used here");
  const first = der[offset + 1] as number;
  let length = first;
  let contentStart = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 3) throw malformed("unsupported length");
    if (contentStart + count > limit) throw malformed("truncated length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[contentStart + i] as number);
    if (length < 0x80 || der[contentStart] === 0) throw malformed("non-minimal length");
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw malformed("content runs past its container");
  return { tag: tagByte, start: offset, contentStart, end };
}

/** The elements inside a constructed node, which must fill it exactly. */
export function childrenOf(der: Uint8Array, node: DerNode): DerNode[] {
  const children: DerNode[] = [];
  for (let at = node.contentStart; at < node.end; ) {
    const child = readNode(der, at, node.end);
    children.push(child);
    at = child.end;
  }
  return children;
}

/** The node itself when it is there with this tag. */
export function expectNode(node: DerNode | undefined, tagByte: number, what: string): DerNode {
  if (!node || node.tag !== tagByte) throw malformed(`expected ${what}`);
  return node;
}

export function contentOf(der: Uint8Array, node: DerNode): Uint8Array {
  return der.subarray(node.contentStart, node.end);
}

export function bytesOf(der: Uint8Array, node: DerNode): Uint8Array {
  return der.subarray(node.start, node.end);
}

/** ECDSA signature: WebCrypto's r||s (IEEE P1363) as the DER SEQUENCE { r INTEGER, s INTEGER } X.509 carries. */
export function ecdsaSignatureToDer(raw: Uint8Array): Uint8Array {
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

/** The DER SEQUENCE { r, s } of an ECDSA signature as r||s of `size` bytes each, for WebCrypto. */
export function ecdsaSignatureFromDer(der: Uint8Array, size: number): Uint8Array {
  const outer = readNode(der, 0);
  if (outer.tag !== tag.sequence || outer.end !== der.length) throw malformed("ECDSA signature");
  const [r, s, extra] = childrenOf(der, outer);
  if (extra) throw malformed("ECDSA signature");
  const out = new Uint8Array(2 * size);
  for (const [index, node] of [r, s].entries()) {
    const value = contentOf(der, expectNode(node, tag.integer, "INTEGER"));
    // Positive and minimal: at most one leading zero, and only before a high bit.
    const padded = value[0] === 0 && value.length > 1;
    const magnitude = padded ? value.subarray(1) : value;
    const needless = padded && ((magnitude[0] ?? 0) & 0x80) === 0;
    if (magnitude.length === 0 || magnitude.length > size || (value[0] ?? 0) & 0x80 || needless) {
      throw malformed("ECDSA signature integer");
    }
    out.set(magnitude, (index + 1) * size - magnitude.length);
  }
  return out;
}
