import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { invalidField } from "../errors/index.ts";

/**
 * scrypt (memory-hard: 32 MiB per hash at N=2^15, r=8) through node:crypto,
 * which Bun, Node and Deno all implement natively; Argon2 would need a native
 * addon that cannot be embedded in the single binary. ~90 ms per hash here.
 */
const parameters = { N: 2 ** 15, r: 8, p: 1 } as const;
const keyLength = 32;
const maxmem = 64 * 1024 * 1024;

function derive(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, keyLength, { N, r, p, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

export function checkPasswordStrength(password: string, field = "password"): void {
  if (password.length < 12) throw invalidField(field, "must be at least 12 characters");
  if (password.length > 1024) throw invalidField(field, "must be at most 1024 characters");
}

/** "scrypt$N$r$p$salt$hash" (base64url), so parameters can grow without a migration. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const { N, r, p } = parameters;
  const key = await derive(password, salt, N, r, p);
  return ["scrypt", N, r, p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const key = await derive(
    password,
    Buffer.from(salt, "base64url"),
    Number(n),
    Number(r),
    Number(p),
  );
  return key.length === expected.length && timingSafeEqual(key, expected);
}
