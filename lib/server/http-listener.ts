import type { IncomingMessage } from "node:http";
import { createSecureServer } from "node:http2";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import { getRequestListener } from "@hono/node-server";
import type { Hono } from "hono";
import type { HostPort } from "../net/index.ts";
import type { ServerTlsMaterial } from "./bootstrap.ts";
import { closeServer, listenOn } from "./listen.ts";

export interface HttpListener {
  address: HostPort;
  close(): Promise<void>;
}

/**
 * HTTPS with the server certificate (passwords and tokens cross it), HTTP/2
 * and HTTP/1.1 on one port. node:http2 rather than node:https because only it
 * exposes the client certificate on Bun; a certificate is asked for, not
 * required, so browsers and curl work without one.
 */
export async function startHttpListener(options: {
  at: HostPort;
  tls: ServerTlsMaterial;
  clientCaPem: string;
  app: Hono;
  /** Handles HTTP/1.1 upgrade requests (the WebSocket event stream). */
  onUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
}): Promise<HttpListener> {
  const server = createSecureServer(
    {
      cert: options.tls.certificatePem,
      key: options.tls.keyPem,
      ca: options.clientCaPem,
      requestCert: true,
      rejectUnauthorized: false,
      allowHTTP1: true,
    },
    getRequestListener(options.app.fetch),
  );
  server.on("upgrade", options.onUpgrade);
  // HTTP/1.1 keep-alive and HTTP/2 sessions would hold close() open.
  const sockets = new Set<TLSSocket>();
  server.on("secureConnection", (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const address = await listenOn(server, options.at);
  return {
    address,
    async close() {
      const closed = closeServer(server);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
