import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { createLru } from "../cache/index.ts";
import { invalidField } from "../errors/index.ts";
import type { DesiredFile, Manifest, ManifestEntry } from "./types.ts";

const encoder = new TextEncoder();
const hexDigest = /^[0-9a-f]{64}$/;
// Versioned, so a future encoding can never collide with this one.
const encodingTag = encoder.encode("drover-config-hash/v1\n");

/** Strings at least this long have their digest remembered (a compiled nginx.conf). */
const rememberFrom = 4096;
const remembered = createLru<string, string>(64);

/**
 * Lowercase hex SHA-256; a string hashes as its UTF-8 bytes. A fan-out
 * hashes the same compiled nginx.conf for every agent that shares it (for
 * its config hash and its diff): long strings keep their digest in a small
 * least-recently-used map, keyed by the string itself.
 */
export function contentSha256(content: Uint8Array | string): string {
  if (typeof content !== "string" || content.length < rememberFrom)
    return createHash("sha256").update(content).digest("hex");
  let digest = remembered.get(content);
  if (digest === undefined) {
    digest = createHash("sha256").update(content).digest("hex");
    remembered.set(content, digest);
  }
  return digest;
}

/** Orders by UTF-8 bytes, so any language can reproduce the canonical order. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(encoder.encode(a), encoder.encode(b));
}

/** What an agent holding exactly these files would report. Sorted by path. */
export function manifestOf(files: readonly DesiredFile[]): Manifest {
  return sortedUnique(
    files.map((file) => ({
      path: file.path,
      mode: file.mode,
      sha256: contentSha256(file.content),
    })),
  );
}

/** `sha256:<hex>` of the desired files; equal to manifestHash(manifestOf(files)). */
export function configHash(files: readonly DesiredFile[]): string {
  return manifestHash(manifestOf(files));
}

/**
 * `sha256:<hex>` over a canonical encoding: entries sorted by path, each as a
 * length-prefixed UTF-8 path, a length-prefixed octal mode and the 32 raw
 * bytes of the content digest. Every field is length-prefixed or fixed-size,
 * so no two different sets encode alike. The agent computes the same value
 * from its manifest without holding the content in memory.
 */
export function manifestHash(manifest: Manifest): string {
  const hash = createHash("sha256").update(encodingTag);
  for (const entry of sortedUnique(manifest)) {
    const path = encoder.encode(entry.path);
    const mode = encoder.encode(entry.mode.toString(8));
    hash.update(lengthPrefix(path.length)).update(path);
    hash.update(lengthPrefix(mode.length)).update(mode);
    hash.update(Buffer.from(entry.sha256, "hex"));
  }
  return `sha256:${hash.digest("hex")}`;
}

/** True when the agent's reported hash is missing or differs from the desired set. */
export function isDrifted(
  reportedHash: string | undefined,
  desired: readonly DesiredFile[],
): boolean {
  if (!reportedHash) return true;
  return reportedHash.trim().toLowerCase() !== configHash(desired);
}

function sortedUnique(manifest: Manifest): Manifest {
  const entries = manifest.map((entry, index) => normalised(entry, index));
  entries.sort((a, b) => comparePaths(a.path, b.path));
  for (let i = 1; i < entries.length; i++) {
    // Two entries for one path have no canonical order, so the hash would depend on input order.
    if (entries[i]?.path === entries[i - 1]?.path)
      throw invalidField("files", `duplicate path ${JSON.stringify(entries[i]?.path)}`);
  }
  return entries;
}

function normalised(entry: ManifestEntry, index: number): ManifestEntry {
  if (!Number.isInteger(entry.mode) || entry.mode < 0)
    throw invalidField(`files[${index}].mode`, "must be a non-negative integer");
  const sha256 = entry.sha256.toLowerCase();
  // Buffer.from(…, "hex") silently drops bad digits; refuse them instead.
  if (!hexDigest.test(sha256))
    throw invalidField(`files[${index}].sha256`, "must be 64 hexadecimal digits");
  return { path: entry.path, mode: entry.mode, sha256 };
}

function lengthPrefix(length: number): Uint8Array {
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, length);
  return prefix;
}
