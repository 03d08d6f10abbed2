/**
 * Both ends of a router tunnel. The router carries a client's HTTP/2
 * connection to the exporter as frames (Jumpstarter's StreamRequest /
 * StreamResponse payloads); each end turns its frames into a byte Duplex and
 * runs ordinary HTTP/2 over it: the exporter serves ExporterService and
 * RouterService (a driver's byte stream) on an in-process HTTP/2 server,
 * the client calls them through a Connect transport on that one session.
 */
import http2 from "node:http2";
import { Duplex } from "node:stream";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  connectNodeAdapter,
  createGrpcTransport,
  type GrpcTransportOptions,
} from "@connectrpc/connect-node";
import type { DroverError } from "../errors/index.ts";
import { ExporterService } from "../gen/jumpstarter/v1/jumpstarter_pb.ts";
import { FrameType, RouterService } from "../gen/jumpstarter/v1/router_pb.ts";
import { createChannel } from "../tasks/index.ts";
import { droverErrorInterceptor } from "../transport/index.ts";
import type { Exporter } from "./exporter.ts";
import { exporterRoutes, streamRequestHeader, type TunnelScope } from "./service.ts";

/** One end of a frame stream: payloads from the other end, and a way to send and to stop sending. */
export interface FrameEnd {
  /** Payloads from the other end, in order; ends when it does. */
  frames: AsyncIterable<Uint8Array>;
  /** Sends one payload; resolves when the transport took it (its flow control applies). */
  send(payload: Uint8Array): Promise<void>;
  /** Nothing more will be sent (end of the write side, or the Duplex was destroyed). */
  close(): void;
}

/** A frame stream as a node:stream Duplex: what HTTP/2 needs as its connection. */
export function frameDuplex(end: FrameEnd): Duplex {
  let resume: (() => void) | undefined;
  let closed = false;
  const closeOnce = () => {
    if (closed) return;
    closed = true;
    end.close();
  };
  const duplex = new Duplex({
    read() {
      const wake = resume;
      resume = undefined;
      wake?.();
    },
    write(chunk: Buffer, _encoding, done) {
      end.send(chunk).then(
        () => done(),
        (error: unknown) => done(error instanceof Error ? error : new Error(String(error))),
      );
    },
    final(done) {
      closeOnce();
      done();
    },
    destroy(error, done) {
      closeOnce();
      const wake = resume;
      resume = undefined;
      wake?.();
      done(error);
    },
  });
  // Read at once: a transport may need its responses read before it takes more requests.
  void (async () => {
    try {
      for await (const payload of end.frames) {
        if (duplex.destroyed) return;
        if (!duplex.push(payload)) await new Promise<void>((wake) => (resume = wake));
      }
      if (!duplex.destroyed) duplex.push(null);
    } catch (error) {
      duplex.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  })();
  return duplex;
}

export interface ServedTunnel {
  /** Resolves when the tunnel closed: with the reason when its lease's streams were cut. */
  done: Promise<DroverError | undefined>;
  /** Closes the tunnel (the router call ended or was cancelled). */
  close(): void;
}

/**
 * The exporter's end: serves the tunnel's HTTP/2 connection until it closes,
 * the call ends, or its lease stops being current (then it is cut at once).
 */
export function serveExporterTunnel(
  duplex: Duplex,
  exporter: Exporter,
  scope: TunnelScope,
): ServedTunnel {
  const server = http2.createServer(
    connectNodeAdapter({
      routes: exporterRoutes(exporter, scope),
      interceptors: [droverErrorInterceptor],
    }),
  );
  let cutReason: DroverError | undefined;
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("error", () => {});
  });
  const close = () => {
    for (const session of sessions) session.destroy();
    duplex.destroy();
  };
  const untrack = exporter.track(scope.token, (reason) => {
    cutReason = reason;
    close();
  });
  duplex.on("error", () => {});
  const done = new Promise<DroverError | undefined>((resolve) => {
    duplex.once("close", () => {
      untrack();
      server.close();
      resolve(cutReason);
    });
  });
  if (!duplex.destroyed) server.emit("connection", duplex);
  return { done, close };
}

type SessionManager = NonNullable<GrpcTransportOptions["sessionManager"]>;

export interface ExporterClient {
  /** The seed's ExporterService, through the tunnel. */
  exporter: Client<typeof ExporterService>;
  /** A driver's byte stream (tcp or serial `connect`): bytes written go to the device, its bytes are read. */
  openStream(uuid: string, method: string): Duplex;
  /** Ends the HTTP/2 session and the tunnel. */
  close(): void;
}

const authority = "http://exporter";

/**
 * One RouterService.Stream as a byte Duplex: bytes written go out as DATA
 * frames, DATA frames read come out as bytes; anything else ends it. Both
 * the router's tunnel (its client end) and a driver's byte stream inside it.
 */
export function routerStreamDuplex(
  router: Client<typeof RouterService>,
  options: { headers: Record<string, string>; signal?: AbortSignal },
): Duplex {
  const abort = new AbortController();
  options.signal?.addEventListener("abort", () => abort.abort(options.signal?.reason), {
    once: true,
  });
  const writes = createChannel<{ payload: Uint8Array; taken: () => void }>();
  async function* requests() {
    for await (const write of writes) {
      yield { payload: write.payload, frameType: FrameType.DATA };
      write.taken();
    }
  }
  const responses = router.stream(requests(), { headers: options.headers, signal: abort.signal });
  return frameDuplex({
    frames: (async function* () {
      for await (const response of responses) {
        if (response.frameType !== FrameType.DATA) return;
        yield response.payload;
      }
    })(),
    send: (payload) => new Promise<void>((taken) => writes.push({ payload, taken })),
    close: () => writes.close(),
  }).once("close", () => abort.abort());
}

/** The client's end: ExporterService calls and driver byte streams over one tunnel's HTTP/2 session. */
export function openExporterClient(duplex: Duplex): ExporterClient {
  const session = http2.connect(authority, { createConnection: () => duplex });
  // Failures surface on the calls; the session's and the tunnel's own error events would otherwise throw.
  session.on("error", () => {});
  duplex.on("error", () => {});
  const manager: SessionManager = {
    authority,
    async request(method, path, headers, options) {
      if (session.closed || session.destroyed)
        throw new ConnectError("the tunnel to the exporter is closed", Code.Unavailable);
      return session.request({ ...headers, ":method": method, ":path": path }, options);
    },
    notifyResponseByteRead() {},
  };
  const transport = createGrpcTransport({
    baseUrl: authority,
    sessionManager: manager,
  });
  const router = createClient(RouterService, transport);
  return {
    exporter: createClient(ExporterService, transport),
    openStream: (uuid, method) =>
      routerStreamDuplex(router, {
        headers: { [streamRequestHeader]: JSON.stringify({ uuid, method }) },
      }),
    close() {
      session.close();
      duplex.destroy();
    },
  };
}
