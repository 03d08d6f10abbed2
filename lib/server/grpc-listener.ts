import { createSecureServer, type Http2Session } from "node:http2";
import type { TLSSocket } from "node:tls";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { HostPort } from "../net/index.ts";
import type { ServerTlsMaterial } from "./bootstrap.ts";
import { createInflightTracker } from "./inflight.ts";
import { closeServer, listenOn } from "./listen.ts";
import { peerContextValues, peerFromSocket } from "./peer.ts";

export interface GrpcListenerOptions {
  at: HostPort;
  tls: ServerTlsMaterial;
  /** When set, clients must present a certificate issued by this CA (mTLS). */
  clientCaPem?: string;
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
}

export interface GrpcListener {
  address: HostPort;
  /** Cuts every connection of an identity, e.g. when its certificates are revoked. */
  closeSessionsOf(subjectId: string): void;
  close(): Promise<void>;
}

/**
 * gRPC over node:http2, the one server that sends trailers and exposes the
 * peer certificate on Bun, Node and Deno alike.
 */
export async function startGrpcListener(options: GrpcListenerOptions): Promise<GrpcListener> {
  const shutdown = new AbortController();
  const inflight = createInflightTracker();
  const handler = connectNodeAdapter({
    routes: options.routes,
    interceptors: [inflight.interceptor, ...options.interceptors],
    contextValues: peerContextValues,
    shutdownSignal: shutdown.signal,
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
    },
    handler,
  );
  const sessions = new Map<Http2Session, string | undefined>();
  server.on("session", (session: Http2Session) => {
    sessions.set(session, peerFromSocket(session.socket as TLSSocket)?.identity.id);
    session.once("close", () => sessions.delete(session));
  });
  const address = await listenOn(server, options.at);
  return {
    address,
    closeSessionsOf(subjectId) {
      for (const [session, owner] of sessions) if (owner === subjectId) session.destroy();
    },
    async close() {
      shutdown.abort();
      const closed = closeServer(server);
      for (const session of sessions.keys()) session.destroy();
      await closed;
      await inflight.idle(5000);
    },
  };
}
