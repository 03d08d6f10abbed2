import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { DroverError } from "../errors/index.ts";
import { type AuthenticatedSession, authenticateSession, bearerFrom } from "./authenticate.ts";
import type { RestDeps } from "./rest-deps.ts";
import { accessCookieFrom } from "./session-cookies.ts";

/** What every WebSocket endpoint shares: the request's URL, who is calling, and refusals. */

const statusText = {
  401: ["UNAUTHORIZED", "Unauthorized"],
  403: ["FORBIDDEN", "Forbidden"],
  500: ["INTERNAL_ERROR", "Internal Server Error"],
} as const;

/** Answers the upgrade request with a plain HTTP error in the NxMesh format, and closes. */
export function refuseUpgrade(socket: Duplex, status: 401 | 403 | 500, message: string): void {
  if (socket.destroyed || !socket.writable) return;
  const [code, reason] = statusText[status];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** The upgrade request's URL (path and query), or undefined when it does not parse. */
export function upgradeUrl(request: IncomingMessage): URL | undefined {
  const target = request.url ?? "/";
  return URL.canParse(target, "https://drover.invalid")
    ? new URL(target, "https://drover.invalid")
    : undefined;
}

/**
 * Authentication of a WebSocket upgrade: `?token=` (browsers cannot set
 * headers on a WebSocket), a bearer header, the `drover_access` cookie with
 * this server's own Origin, or an operator certificate. Throws a DroverError
 * (unauthenticated or permission_denied).
 */
export async function authenticateUpgrade(
  deps: RestDeps,
  request: IncomingMessage,
  url: URL,
): Promise<AuthenticatedSession> {
  const bearer = url.searchParams.get("token") ?? bearerFrom(request.headers.authorization);
  const cookie = bearer ? undefined : accessCookieFrom(request.headers.cookie);
  // Browsers send cookies on any site's WebSocket; only our own pages may use them.
  if (cookie && request.headers.origin !== `https://${request.headers.host}`)
    throw new DroverError(
      "permission_denied",
      "a cookie session is accepted only from this server's pages",
    );
  return authenticateSession(deps, request, bearer ?? cookie);
}
