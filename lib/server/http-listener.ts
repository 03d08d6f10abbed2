import type { IncomingMessage } from "node:http";
import { createSecureServer, type Http2ServerResponse } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { getRequestListener } from "@hono/node-server";
import type { Hono } from "hono";
import type { HostPort } from "../net/index.ts";
import type { ServerTlsMaterial } from "./bootstrap.ts";
import { trackConnections } from "./connections.ts";
import { CLOSE_DEADLINE_MS, type ConnectionLimits } from "./limits.ts";
import { listenOn } from "./listen.ts";
import { peerContextValues } from "./peer.ts";

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
  limits: ConnectionLimits;
  /** gRPC served beside REST on the same port (people's clients: leases and the router). */
  grpc?: {
    routes: (router: ConnectRouter) => void;
    interceptors: Interceptor[];
    messageMaxBytes: number;
    shutdownSignal: AbortSignal;
  };
}): Promise<HttpListener> {
  const rest = getRequestListener(options.app.fetch);
  const grpc = options.grpc;
  const server = createSecureServer(
    {
      cert: options.tls.certificatePem,
      key: options.tls.keyPem,
      ca: options.clientCaPem,
      requestCert: true,
      rejectUnauthorized: false,
      allowHTTP1: true,
      handshakeTimeout: options.limits.handshakeTimeoutMs,
      settings: { maxConcurrentStreams: options.limits.streamsPerConnection },
    },
    grpc === undefined
      ? rest
      : connectNodeAdapter({
          routes: grpc.routes,
          interceptors: grpc.interceptors,
          contextValues: peerContextValues,
          shutdownSignal: grpc.shutdownSignal,
          // As on the gRPC binds: no compression either way (decompression bombs).
          acceptCompression: [],
          readMaxBytes: grpc.messageMaxBytes,
          // connect's response type is a narrower view of the same node:http2 object.
          fallback: (request, response) => void rest(request, response as Http2ServerResponse),
        }),
  );
  const connections = trackConnections(server, options.limits);
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A WebSocket may rightly stay quiet for long: no HTTP idle timeout on it.
    (socket as Partial<Socket>).setTimeout?.(0);
    options.onUpgrade(request, socket, head);
  });
  const address = await listenOn(server, options.at);
  return {
    address,
    close: () => connections.close(CLOSE_DEADLINE_MS),
  };
}
