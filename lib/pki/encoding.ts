import { DroverError } from "../errors/index.ts";

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

export function randomBytes(length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

export async function sha256Hex(data: Uint8Array | ArrayBuffer): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", data);
  return toHex(new Uint8Array(digest));
}

export function base64Encode(bytes: Uint8Array): string {
  // btoa over a binary string: available on Bun, Node >= 16 and Deno without Buffer.
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function base64UrlEncode(bytes: Uint8Array): string {
  return base64Encode(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** PEM with 64-column base64 lines, the layout OpenSSL writes and expects. */
export function encodePem(der: Uint8Array | ArrayBuffer, label: string): string {
  const body = base64Encode(der instanceof Uint8Array ? der : new Uint8Array(der));
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** DER of the first PEM block with exactly this label; anything else is invalid_argument. */
export function decodePem(pem: string, label: string): Uint8Array<ArrayBuffer> {
  if (typeof pem !== "string") {
    throw new DroverError("invalid_argument", `expected a ${label} PEM string`);
  }
  const match = new RegExp(
    `-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*?)-----END ${label}-----`,
  ).exec(pem);
  const body = match?.[1]?.replace(/\s+/g, "");
  if (!body) {
    throw new DroverError("invalid_argument", `no ${label} PEM block found`);
  }
  let binary: string;
  try {
    binary = atob(body);
  } catch (cause) {
    throw new DroverError("invalid_argument", `${label} PEM block is not valid base64`, { cause });
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Bytes of an even-length hex string (callers pass hex they produced). */
export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
