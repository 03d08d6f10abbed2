import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { isDroverError } from "../errors/index.ts";
import { type AuthenticatedSession, authenticateSession, bearerFrom } from "./authenticate.ts";
import {
  defaultEventSocketLimits,
  type EventSocketLimits,
  serveConnection,
} from "./event-connection.ts";
import type { RestDeps } from "./rest-deps.ts";
import { accessCookieFrom } from "./session-cookies.ts";

/** The largest client message; a bigger frame closes the socket with 1009. */
const maxPayloadBytes = 64 * 1024;

function refuse(socket: Duplex, status: 401 | 403 | 500, message: string): void {
  if (socket.destroyed || !socket.writable) return;
  const code = { 401: "UNAUTHORIZED", 403: "FORBIDDEN", 500: "INTERNAL_ERROR" }[status];
  const reason = { 401: "Unauthorized", 403: "Forbidden", 500: "Internal Server Error" }[status];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * GET /v1/events upgrades to a WebSocket. Authentication: `?token=` (browsers
 * cannot set headers on WebSocket), a bearer header, the `drover_access`
 * cookie with this server's own Origin, or an operator certificate.
 */
export function createEventSocket(deps: RestDeps, limits: Partial<EventSocketLimits> = {}) {
  const server = new WebSocketServer({ noServer: true, maxPayload: maxPayloadBytes });
  const socketLimits = { ...defaultEventSocketLimits, ...limits };
  return {
    /** Never rejects: whatever the client does, the upgrade ends in a WebSocket or a refusal. */
    async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
      // A reset before (or during) the handshake must not surface as an unhandled 'error'.
      socket.on("error", (error) =>
        deps.logger.info("event socket upgrade error", { error: String(error) }),
      );
      try {
        const target = request.url ?? "/";
        const url = URL.canParse(target, "https://drover.invalid")
          ? new URL(target, "https://drover.invalid")
          : undefined;
        if (url?.pathname !== "/v1/events")
          return refuse(socket, 403, `no WebSocket endpoint at ${url?.pathname ?? target}`);
        const bearer = url.searchParams.get("token") ?? bearerFrom(request.headers.authorization);
        const cookie = bearer ? undefined : accessCookieFrom(request.headers.cookie);
        // Browsers send cookies on any site's WebSocket; only our own pages may use them.
        if (cookie && request.headers.origin !== `https://${request.headers.host}`)
          return refuse(socket, 403, "a cookie session is accepted only from this server's pages");
        let session: AuthenticatedSession;
        try {
          session = await authenticateSession(deps, request, bearer ?? cookie);
        } catch (error) {
          if (!isDroverError(error)) throw error;
          return refuse(socket, error.code === "permission_denied" ? 403 : 401, error.message);
        }
        if (socket.destroyed) return;
        server.handleUpgrade(request, socket, head, (ws) =>
          serveConnection(ws, session, deps, socketLimits),
        );
      } catch (error) {
        deps.logger.error("event socket upgrade failed", { error: String(error) });
        refuse(socket, 500, "internal error");
      }
    },
    close(): void {
      for (const client of server.clients) client.terminate();
      server.close();
    },
  };
}
