import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { DroverError, isDroverError } from "../errors/index.ts";
import type { AuthenticatedSession } from "./authenticate.ts";
import { atClockTime } from "./clock-timer.ts";
import { httpErrorFor, validationDetails } from "./errors.ts";
import { logEntryJson, logQueryOf, NodeLogsQuery } from "./node-schemas.ts";
import type { RestDeps } from "./rest-deps.ts";
import { authenticateUpgrade, refuseUpgrade, upgradeUrl } from "./socket-upgrade.ts";

/** What the log-following sockets may cost the server. */
export interface LogSocketLimits {
  /** Follows one user (or operator certificate) may hold open at once; more are refused. */
  maxFollowsPerUser: number;
  /** Past this many unsent bytes, reading from the agent waits until the socket drains. */
  maxBufferedBytes: number;
}

export const defaultLogSocketLimits: LogSocketLimits = {
  maxFollowsPerUser: 4,
  maxBufferedBytes: 1024 * 1024,
};

/** The client has nothing to say; a frame bigger than this closes the socket with 1009. */
const maxPayloadBytes = 4 * 1024;

const followPath = /^\/v1\/agents\/([^/]+)\/system-logs\/follow$/;

/** Whether an upgrade request is for the log-following socket (the rest go to /v1/events). */
export function isLogFollowUpgrade(request: IncomingMessage): boolean {
  return followPath.test(upgradeUrl(request)?.pathname ?? "");
}

/** Close codes: 4000 + the HTTP status the same failure has over REST (4401, 4404, 4503…). */
const closeCodes = { ended: 1000, internal: 1011 };
const closeCodeOf = (status: number) => 4000 + status;

/**
 * GET /v1/agents/{agent_id}/system-logs/follow upgrades to a WebSocket that
 * carries the agent's log stream (journald or a declared file), one JSON
 * message per entry. Authenticated as /v1/events; the agent's stream is
 * cancelled when the socket closes, and read no faster than the socket drains.
 */
export function createLogSocket(deps: RestDeps, limits: Partial<LogSocketLimits> = {}) {
  const server = new WebSocketServer({ noServer: true, maxPayload: maxPayloadBytes });
  const socketLimits = { ...defaultLogSocketLimits, ...limits };
  const followsBy = new Map<string, number>();

  function follow(ws: WebSocket, session: AuthenticatedSession, agentId: string, url: URL): void {
    const { principal } = session;
    const clock = deps.sessions.clock;
    const holder = `${principal.kind}:${principal.id}`;
    const reading = new AbortController();
    let closed = false;

    const close = (code: number, reason: string) => {
      if (closed) return;
      closed = true;
      reading.abort();
      ws.close(code, reason);
    };
    const fail = (error: unknown) => {
      if (closed) return;
      if (!isDroverError(error)) {
        deps.logger.error("log follow failed", { agent: agentId, error: String(error) });
        return close(closeCodes.internal, "internal error");
      }
      const { status, code } = httpErrorFor(error.code);
      const details = error.details.map((detail) => ({ ...detail, code: "INVALID_FORMAT" }));
      ws.send(JSON.stringify({ type: "error", error: { code, message: error.message, details } }));
      close(closeCodeOf(status), error.message.slice(0, 120));
    };

    // Without a listener, an 'error' (a frame over maxPayload, a reset) would end the process under Node.
    ws.on("error", (error) => deps.logger.info("log socket error", { error: String(error) }));
    ws.on("close", () => {
      closed = true;
      reading.abort();
    });

    const held = followsBy.get(holder) ?? 0;
    if (held >= socketLimits.maxFollowsPerUser) {
      fail(
        new DroverError(
          "resource_exhausted",
          `at most ${socketLimits.maxFollowsPerUser} log follows at once; close one first`,
        ),
      );
      return;
    }
    followsBy.set(holder, held + 1);
    const cancelExpiry = atClockTime(clock, session.expiresAt, () =>
      close(closeCodeOf(401), "credential expired; reconnect with a fresh token"),
    );

    const send = (data: string): Promise<void> | undefined => {
      if (ws.bufferedAmount < socketLimits.maxBufferedBytes) {
        ws.send(data);
        return undefined;
      }
      // Called once this frame (and so all before it) is written out: until then the
      // agent's stream is not read, and its call's credit holds the agent back.
      return new Promise((resolve) => ws.send(data, () => resolve()));
    };

    const run = async () => {
      const params = Object.fromEntries(url.searchParams);
      delete params.token;
      const parsed = NodeLogsQuery.safeParse(params);
      if (!parsed.success) {
        const details = validationDetails(parsed.error).map(({ field, message }) => ({
          field,
          message,
        }));
        throw new DroverError("invalid_argument", "Request validation failed", { details });
      }
      const query = logQueryOf(parsed.data, clock.now(), true);
      for await (const line of deps.node.streamLogs(principal, agentId, query, reading.signal)) {
        if (closed) return;
        await send(JSON.stringify({ type: "entry", ...logEntryJson(line) }));
      }
      close(closeCodes.ended, "the agent's log stream ended");
    };
    run()
      .catch(fail)
      .finally(() => {
        cancelExpiry();
        const left = (followsBy.get(holder) ?? 1) - 1;
        if (left > 0) followsBy.set(holder, left);
        else followsBy.delete(holder);
      });
  }

  return {
    /** Never rejects: whatever the client does, the upgrade ends in a WebSocket or a refusal. */
    async handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
      // A reset before (or during) the handshake must not surface as an unhandled 'error'.
      socket.on("error", (error) =>
        deps.logger.info("log socket upgrade error", { error: String(error) }),
      );
      try {
        const url = upgradeUrl(request);
        const agentId = followPath.exec(url?.pathname ?? "")?.[1];
        if (!url || agentId === undefined)
          return refuseUpgrade(socket, 403, `no WebSocket endpoint at ${request.url}`);
        let session: AuthenticatedSession;
        try {
          session = await authenticateUpgrade(deps, request, url);
        } catch (error) {
          if (!isDroverError(error)) throw error;
          const status = error.code === "permission_denied" ? 403 : 401;
          return refuseUpgrade(socket, status, error.message);
        }
        if (socket.destroyed) return;
        server.handleUpgrade(request, socket, head, (ws) => follow(ws, session, agentId, url));
      } catch (error) {
        deps.logger.error("log socket upgrade failed", { error: String(error) });
        refuseUpgrade(socket, 500, "internal error");
      }
    },
    close(): void {
      for (const client of server.clients) client.terminate();
      server.close();
    },
  };
}
