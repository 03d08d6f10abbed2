import {
  constants,
  createSecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from "node:http2";
import type { TLSSocket } from "node:tls";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { HostPort } from "../net/index.ts";
import type { ServerTlsMaterial } from "./bootstrap.ts";
import { trackConnections } from "./connections.ts";
import type { StreamRoute, StreamRouteContext } from "./grpc-stream.ts";
import { createInflightTracker } from "./inflight.ts";
import { CLOSE_DEADLINE_MS, type GrpcLimits } from "./limits.ts";
import { listenOn } from "./listen.ts";
import { peerContextValues, peerFromSocket } from "./peer.ts";

export interface GrpcListenerOptions {
  at: HostPort;
  tls: ServerTlsMaterial;
  /** When set, clients must present a certificate issued by this CA (mTLS). */
  clientCaPem?: string;
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  /** Methods served on node:http2 directly, ahead of connect (the agent Session). */
  streams?: StreamRoute[];
  limits: GrpcLimits;
}

export interface GrpcListener {
  address: HostPort;
  /** Cuts every connection of an identity, e.g. when its certificates are revoked. */
  closeSessionsOf(subjectId: string): void;
  /** Refuses new connections; the open ones keep working until close(). */
  stopAccepting(): void;
  close(): Promise<void>;
}

type NodeHandler = (request: Http2ServerRequest, response: Http2ServerResponse) => void;

/**
 * gRPC over node:http2, the one server that sends trailers and exposes the
 * peer certificate on Bun, Node and Deno alike.
 */
export async function startGrpcListener(options: GrpcListenerOptions): Promise<GrpcListener> {
  const { limits } = options;
  const shutdown = new AbortController();
  const inflight = createInflightTracker();
  // What stops each open stream route call at shutdown.
  const streamStops = new Set<() => void>();
  const handler = connectNodeAdapter({
    routes: options.routes,
    interceptors: [inflight.interceptor, ...options.interceptors],
    contextValues: peerContextValues,
    shutdownSignal: shutdown.signal,
    // No compression either way: a compressed request is a decompression bomb
    // waiting to happen (UNIMPLEMENTED names the encoding), and compressing
    // every response costs CPU per agent for messages that are mostly small.
    acceptCompression: [],
    readMaxBytes: limits.messageMaxBytes,
  });
  const mtls = options.clientCaPem !== undefined;
  const server = createSecureServer(
    {
      cert: options.tls.certificatePem,
      key: options.tls.keyPem,
      ca: options.clientCaPem,
      requestCert: mtls,
      rejectUnauthorized: mtls,
      allowHTTP1: false,
      handshakeTimeout: limits.handshakeTimeoutMs,
      settings: { maxConcurrentStreams: limits.streamsPerConnection },
    },
    withStreamRoutes(
      options.streams ?? [],
      {
        messageMaxBytes: limits.messageMaxBytes,
        onShutdown(stop) {
          if (shutdown.signal.aborted) {
            stop();
            return () => {};
          }
          streamStops.add(stop);
          return () => streamStops.delete(stop);
        },
        track: inflight.track,
      },
      withRequestTimeout(handler, limits.requestTimeoutMs),
    ),
  );
  const connections = trackConnections(server, limits);
  const address = await listenOn(server, options.at);
  return {
    address,
    closeSessionsOf(subjectId) {
      for (const session of connections.sessions()) {
        if (peerFromSocket(session.socket as TLSSocket)?.identity.id === subjectId) {
          session.destroy();
        }
      }
    },
    stopAccepting: () => connections.stopAccepting(),
    async close() {
      // Handlers see their context aborted; the store stays open until they finish.
      shutdown.abort();
      for (const stop of streamStops) stop();
      streamStops.clear();
      await connections.close(CLOSE_DEADLINE_MS);
      await inflight.idle(5000);
    },
  };
}

function withStreamRoutes(
  routes: StreamRoute[],
  context: StreamRouteContext,
  otherwise: NodeHandler,
): NodeHandler {
  if (routes.length === 0) return otherwise;
  const byPath = new Map(routes.map((route) => [route.path, route]));
  return (request, response) => {
    const route = byPath.get(request.url);
    if (route) route.serve(request, response, context);
    else otherwise(request, response);
  };
}

/**
 * Ends a call whose request has not fully arrived `timeoutMs` after its
 * headers with DEADLINE_EXCEEDED and resets the stream, so an anonymous
 * client cannot hold a stream open by never sending its message.
 */
function withRequestTimeout(handler: NodeHandler, timeoutMs: number): NodeHandler {
  if (timeoutMs === 0) return handler;
  return (request, response) => {
    const timer = setTimeout(() => {
      if (!response.headersSent) {
        response.stream.respond(
          {
            ":status": 200,
            "content-type": "application/grpc",
            "grpc-status": "4",
            "grpc-message": `request not received within ${timeoutMs} ms`,
          },
          { endStream: true },
        );
      }
      response.stream.close(constants.NGHTTP2_NO_ERROR);
    }, timeoutMs);
    const settled = () => clearTimeout(timer);
    request.once("end", settled);
    response.stream.once("close", settled);
    handler(request, response);
  };
}
