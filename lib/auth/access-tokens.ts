import { errors, jwtVerify, SignJWT } from "jose";
import { DroverError } from "../errors/index.ts";

const tokenType = "drover-access+jwt";
const issuer = "drover";

export interface AccessClaims {
  userId: string;
  expiresAt: Date;
}

/** A short-lived ES256 JWT naming the user; what it may do is read from the store per request. */
export async function issueAccessToken(
  signingKey: CryptoKey,
  userId: string,
  now: Date,
  ttlMs: number,
): Promise<{ token: string; expiresAt: Date }> {
  const expiresAt = new Date(Math.floor((now.getTime() + ttlMs) / 1000) * 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", typ: tokenType })
    .setIssuer(issuer)
    .setSubject(userId)
    .setIssuedAt(Math.floor(now.getTime() / 1000))
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(signingKey);
  return { token, expiresAt };
}

export async function verifyAccessToken(
  verifyKey: CryptoKey,
  token: string,
  now: Date,
): Promise<AccessClaims> {
  try {
    const { payload } = await jwtVerify(token, verifyKey, {
      algorithms: ["ES256"],
      issuer,
      typ: tokenType,
      currentDate: now,
    });
    if (typeof payload.sub !== "string" || typeof payload.exp !== "number")
      throw new Error("claims missing");
    return { userId: payload.sub, expiresAt: new Date(payload.exp * 1000) };
  } catch (error) {
    const expired = error instanceof errors.JWTExpired;
    throw new DroverError(
      "unauthenticated",
      expired ? "access token expired; refresh it" : "access token invalid",
    );
  }
}
