import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { isDroverError } from "../errors/index.ts";
import type { AuthenticatedSession } from "./authenticate.ts";
import {
  defaultEventSocketLimits,
  type EventSocketLimits,
  serveConnection,
} from "./event-connection.ts";
import type { RestDeps } from "./rest-deps.ts";
import { authenticateUpgrade, refuseUpgrade as refuse, upgradeUrl } from "./socket-upgrade.ts";

/** The largest client message; a bigger frame closes the socket with 1009. */
const maxPayloadBytes = 64 * 1024;

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
        const url = upgradeUrl(request);
        if (url?.pathname !== "/v1/events")
          return refuse(socket, 403, `no WebSocket endpoint at ${url?.pathname ?? request.url}`);
        let session: AuthenticatedSession;
        try {
          session = await authenticateUpgrade(deps, request, url);
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
