import type { Http2SecureServer, Http2Session } from "node:http2";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { type ConnectionLimits, GOAWAY_GRACE_MS } from "./limits.ts";
import { closeServer } from "./listen.ts";

/** The open connections of one listener, bounded, idled out, and closed with a deadline. */
export interface ConnectionTracker {
  /** HTTP/2 sessions open now. */
  sessions(): IterableIterator<Http2Session>;
  /** Stops listening (new connections are refused); open ones stay until close(). */
  stopAccepting(): void;
  /**
   * Stops accepting and destroys every connection, those still in their
   * handshake included; sessions that finish a handshake meanwhile are
   * destroyed as they appear. Resolves when the server has closed, or after
   * `deadlineMs` at the latest: stop() never waits on a client.
   */
  close(deadlineMs: number): Promise<void>;
}

/**
 * Applies `limits` to a server's connections: per-address and total counts
 * (checked on accept, before TLS costs anything), idle timeouts, and the
 * HTTP/2 session bookkeeping a deadline close needs.
 */
export function trackConnections(
  server: Http2SecureServer,
  limits: ConnectionLimits,
): ConnectionTracker {
  // Raw sockets from accept on, so connections still in their handshake are counted and closable.
  const sockets = new Set<Socket>();
  const perAddress = new Map<string, number>();
  const sessions = new Set<Http2Session>();
  let closing = false;
  let listening: Promise<void> | undefined;
  const stopAccepting = () => {
    listening ??= closeServer(server);
    return listening;
  };

  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "";
    const fromAddress = perAddress.get(address) ?? 0;
    if (
      closing ||
      fromAddress >= limits.connectionsPerAddress ||
      sockets.size >= limits.connectionsTotal
    ) {
      socket.destroy();
      return;
    }
    perAddress.set(address, fromAddress + 1);
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left === 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });

  server.on("session", (session: Http2Session) => {
    if (closing) {
      session.destroy();
      return;
    }
    sessions.add(session);
    closeWhenIdle(session, limits.idleTimeoutMs);
    session.once("close", () => sessions.delete(session));
  });

  // HTTP/1.1 (the HTTPS listener's browsers, curl and WebSocket upgrades) has
  // no session: idle there means no bytes either way.
  server.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol !== "h2")
      socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
  });

  return {
    sessions: () => sessions.values(),
    stopAccepting,
    async close(deadlineMs) {
      closing = true;
      const closed = stopAccepting();
      // At once, not GOAWAY and a grace: agent streams never end by themselves, so a
      // grace would hold every stop for its whole length. Handlers still get their
      // abort signal and finish their clean-up (the listener waits for them).
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      let deadline: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        closed,
        new Promise((resolve) => (deadline = setTimeout(resolve, deadlineMs))),
      ]);
      clearTimeout(deadline);
    },
  };
}

/**
 * Idle means no open stream: a session is closed (GOAWAY) once it has had
 * none for `idleMs`, counting from its start, and destroyed if the peer does
 * not let it close. Long-lived agent streams keep their session open however
 * quiet they are.
 */
function closeWhenIdle(session: Http2Session, idleMs: number): void {
  let open = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      session.close();
      timer = setTimeout(() => session.destroy(), GOAWAY_GRACE_MS);
    }, idleMs);
  };
  session.on("stream", (stream) => {
    open += 1;
    clearTimeout(timer);
    stream.once("close", () => {
      open -= 1;
      if (open === 0 && !session.closed) arm();
    });
  });
  session.once("close", () => clearTimeout(timer));
  arm();
}
