import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { z } from "@hono/zod-openapi";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import type { Principal } from "../auth/index.ts";
import { isDroverError } from "../errors/index.ts";
import {
  checkEventFilter,
  type FleetEvent,
  matchesFilter,
  openSubscription,
} from "../events/index.ts";
import { eventVisibility, getWorkspace } from "../tenancy/index.ts";
import { authenticateRequest, bearerFrom } from "./authenticate.ts";
import { validationDetails } from "./errors.ts";
import type { RestDeps } from "./rest-deps.ts";

/** `{"action":"subscribe","events":["agent.*"],"filter":{"workspace_id":"…"},"after":42}` */
const ClientMessage = z.discriminatedUnion("action", [
  z.strictObject({
    action: z.literal("subscribe"),
    events: z.array(z.string()),
    filter: z.strictObject({ workspace_id: z.string().optional() }).optional(),
    after: z.number().int().min(0).optional(),
  }),
  z.strictObject({ action: z.literal("unsubscribe") }),
]);

/** A watcher this far behind is cut off; it reconnects and resumes from its last seq. */
const maxBufferedBytes = 4 * 1024 * 1024;

export function eventJson(event: FleetEvent) {
  return {
    seq: event.seq,
    type: event.type,
    timestamp: event.at.toISOString(),
    subject_id: event.subjectId,
    data: event.data ?? {},
  };
}

function sendError(ws: WebSocket, code: string, message: string, details: unknown[] = []): void {
  ws.send(JSON.stringify({ type: "error", error: { code, message, details } }));
}

function serveConnection(ws: WebSocket, principal: Principal, deps: RestDeps): void {
  const tenancy = deps.fleet.deps;
  let closeSubscription: (() => void) | undefined;
  ws.on("close", () => closeSubscription?.());
  ws.on("message", async (raw: RawData) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString());
    } catch {
      return sendError(ws, "VALIDATION_ERROR", "messages are JSON objects");
    }
    const message = ClientMessage.safeParse(parsed);
    if (!message.success)
      return sendError(ws, "VALIDATION_ERROR", "invalid message", validationDetails(message.error));
    closeSubscription?.();
    closeSubscription = undefined;
    if (message.data.action === "unsubscribe")
      return ws.send(JSON.stringify({ type: "unsubscribed" }));
    const filter = { types: message.data.events, workspaceId: message.data.filter?.workspace_id };
    try {
      checkEventFilter(filter);
      if (filter.workspaceId) await getWorkspace(tenancy, principal, filter.workspaceId);
      const visible = await eventVisibility(tenancy, principal);
      ws.send(
        JSON.stringify({
          type: "subscribed",
          events: filter.types,
          after: message.data.after ?? null,
        }),
      );
      closeSubscription = openSubscription(tenancy.events, tenancy.store, {
        after: message.data.after,
        accepts: (event) => visible(event) && matchesFilter(filter, event),
        deliver: (event) => {
          if (ws.bufferedAmount > maxBufferedBytes) {
            ws.close(1013, "too far behind; reconnect and resume from your last seq");
            return;
          }
          ws.send(JSON.stringify(eventJson(event)));
        },
        onError: () => ws.close(1011, "event replay failed; reconnect and resume"),
      });
    } catch (error) {
      if (!isDroverError(error)) throw error;
      sendError(
        ws,
        error.code === "not_found" ? "NOT_FOUND" : "VALIDATION_ERROR",
        error.message,
        error.details.map((detail) => ({ ...detail, code: "INVALID_FORMAT" })),
      );
    }
  });
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({
    error: { code: status === 401 ? "UNAUTHORIZED" : "FORBIDDEN", message },
  });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? "Unauthorized" : "Forbidden"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * GET /v1/events upgrades to a WebSocket. Authentication: `?token=` (browsers
 * cannot set headers on WebSocket), a bearer header, or an operator certificate.
 */
export function createEventSocket(deps: RestDeps) {
  const server = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  return {
    async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
      const url = new URL(request.url ?? "/", "https://drover.invalid");
      if (url.pathname !== "/v1/events")
        return refuse(socket, 403, `no WebSocket endpoint at ${url.pathname}`);
      let principal: Principal;
      try {
        const bearer = url.searchParams.get("token") ?? bearerFrom(request.headers.authorization);
        principal = await authenticateRequest(deps, request, bearer);
      } catch (error) {
        const status = isDroverError(error) && error.code === "permission_denied" ? 403 : 401;
        return refuse(
          socket,
          status,
          isDroverError(error) ? error.message : "authentication failed",
        );
      }
      server.handleUpgrade(request, socket, head, (ws) => serveConnection(ws, principal, deps));
    },
    close(): void {
      for (const client of server.clients) client.terminate();
      server.close();
    },
  };
}
