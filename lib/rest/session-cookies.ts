import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { parse } from "hono/utils/cookie";
import type { TokenPair } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";

/**
 * A browser's session: the access token (HttpOnly, every path), the refresh
 * token (HttpOnly, only the auth paths that use it) and a CSRF token the page
 * reads and echoes in `X-CSRF-Token` on writes (double submit: another site
 * can make the browser send cookies, not read one). SameSite=Strict on all three.
 */
export const sessionCookies = {
  access: "drover_access",
  refresh: "drover_refresh",
  csrf: "drover_csrf",
} as const;

export const csrfHeader = "x-csrf-token";

const refreshCookiePath = "/v1/auth";
const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

const base = { secure: true, sameSite: "Strict", path: "/" } as const;

export function setSessionCookies(
  c: Context,
  pair: TokenPair,
  lifetimes: { accessTtlMs: number; refreshTtlMs: number },
): void {
  setCookie(c, sessionCookies.access, pair.accessToken, {
    ...base,
    httpOnly: true,
    maxAge: Math.floor(lifetimes.accessTtlMs / 1000),
  });
  setCookie(c, sessionCookies.refresh, pair.refreshToken, {
    ...base,
    httpOnly: true,
    path: refreshCookiePath,
    maxAge: Math.floor(lifetimes.refreshTtlMs / 1000),
  });
  setCookie(c, sessionCookies.csrf, randomBytes(32).toString("base64url"), {
    ...base,
    maxAge: Math.floor(lifetimes.refreshTtlMs / 1000),
  });
}

export function clearSessionCookies(c: Context): void {
  deleteCookie(c, sessionCookies.access, { ...base, httpOnly: true });
  deleteCookie(c, sessionCookies.refresh, { ...base, httpOnly: true, path: refreshCookiePath });
  deleteCookie(c, sessionCookies.csrf, base);
}

export function refreshCookie(c: Context): string | undefined {
  return getCookie(c, sessionCookies.refresh);
}

/** The access token from a raw Cookie header (a WebSocket upgrade has no hono context). */
export function accessCookieFrom(cookieHeader: string | undefined): string | undefined {
  return cookieHeader
    ? parse(cookieHeader, sessionCookies.access)[sessionCookies.access]
    : undefined;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A write on a cookie session must echo the CSRF cookie in the header; reads need not. */
export function requireCsrf(c: Context): void {
  if (safeMethods.has(c.req.method)) return;
  const cookie = getCookie(c, sessionCookies.csrf);
  const header = c.req.header(csrfHeader);
  if (!cookie || !header || !sameSecret(cookie, header))
    throw new DroverError("permission_denied", "missing or wrong CSRF token");
}
