/**
 * One bidirectional gRPC method served straight on node:http2, without
 * connect-es: the agent Session stays open for the life of an agent, and
 * connect's chain of async iterators held ~70 KiB and a promise chain per
 * message for each of them (issue 13). Plain gRPC over HTTP/2 only (what
 * grpc-js and Drover's agent speak); other methods stay on connect.
 */
import { constants, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { DescMethodBiDiStreaming } from "@bufbuild/protobuf";
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { toConnectError } from "../transport/index.ts";
import { type Peer, peerFromRequest } from "./peer.ts";

/** One open call as its handler sees it. */
export interface BidiCall<I, O> {
  peer: Peer | undefined;
  /** Aborts when the client goes away, the call fails or the listener shuts down. */
  signal: AbortSignal;
  /** The client's next message; undefined once it ended its side. Rejects if the call failed. */
  receive(): Promise<I | undefined>;
  /** Queues a message to the client (HTTP/2 flow control paces the socket). */
  send(message: O): void;
}

/** Resolving ends the call with OK; throwing ends it with the error's status. */
export type BidiHandler<I, O> = (call: BidiCall<I, O>) => Promise<void>;

/** What the listener gives every stream route: its bounds and its lifecycle hooks. */
export interface StreamRouteContext {
  messageMaxBytes: number;
  /**
   * Registers what stops the call when the listener shuts down (at once if it
   * already has); returns its removal. A set, not listeners on one shared
   * AbortSignal: removing one of 20,000 listeners from an EventTarget scans them.
   */
  onShutdown(stop: () => void): () => void;
  /** Counts the call as running until the returned function is called. */
  track(): () => void;
}

export interface StreamRoute {
  /** "/package.Service/Method" */
  path: string;
  serve(
    request: Http2ServerRequest,
    response: Http2ServerResponse,
    context: StreamRouteContext,
  ): void;
}

export interface BidiRouteOptions<I extends DescMessage, O extends DescMessage> {
  method: DescMethodBiDiStreaming<I, O>;
  /** Throws (ConnectError or DroverError) to refuse the caller before anything is read. */
  authorize(peer: Peer | undefined): Promise<void>;
  handle: BidiHandler<MessageShape<I>, MessageShape<O>>;
}

/** Messages read ahead of the handler before the request stream is paused. */
const READ_AHEAD = 16;
const PREFIX_BYTES = 5;

export function bidiStreamRoute<I extends DescMessage, O extends DescMessage>(
  options: BidiRouteOptions<I, O>,
): StreamRoute {
  const { method } = options;
  return {
    path: `/${method.parent.typeName}/${method.name}`,
    serve(request, response, context) {
      const contentType = String(request.headers["content-type"] ?? "");
      if (request.method !== "POST" || !/^application\/grpc(\+proto)?(;|$)/.test(contentType)) {
        // gRPC over HTTP/2: anything else is not a gRPC client.
        response.writeHead(415, { "content-type": "text/plain" });
        response.end(`${method.name} speaks gRPC (application/grpc) only`);
        return;
      }
      const done = context.track();
      const call = openCall(options, request, response, context, contentType);
      call.then(done, done);
    },
  };
}

async function openCall<I extends DescMessage, O extends DescMessage>(
  options: BidiRouteOptions<I, O>,
  request: Http2ServerRequest,
  response: Http2ServerResponse,
  context: StreamRouteContext,
  contentType: string,
): Promise<void> {
  const aborter = new AbortController();
  response.once("close", () => aborter.abort());
  let finished = false;
  const finish = (error?: unknown) => {
    if (finished) return;
    finished = true;
    aborter.abort();
    if (response.stream.closed || response.stream.destroyed) return;
    const status = error === undefined ? undefined : ConnectError.from(toConnectError(error));
    const trailers = {
      "grpc-status": String(status?.code ?? 0),
      ...(status ? { "grpc-message": percentEncoded(status.rawMessage) } : {}),
    };
    if (!response.headersSent) {
      // Trailers-only: the status travels in the one HEADERS frame.
      response.writeHead(200, { "content-type": contentType, ...trailers });
    } else {
      response.addTrailers(trailers);
    }
    // A client still sending is told to stop (RST_STREAM NO_ERROR, as HTTP/2 says)
    // once the status is out; otherwise its side of the stream stays open.
    response.end(() => {
      if (!request.readableEnded) response.stream.close(constants.NGHTTP2_NO_ERROR);
    });
  };
  // At shutdown the listener cuts every connection next: the handler is
  // stopped, and no status is written to a stream about to be destroyed
  // (writing one to each of 10,000 sessions took a second of a stop).
  const unregister = context.onShutdown(() => {
    finished = true;
    aborter.abort();
  });
  try {
    const peer = peerFromRequest(request);
    await options.authorize(peer);
    if (aborter.signal.aborted) return;
    const inbox = readMessages(request, options.method.input, context.messageMaxBytes, finish);
    // A handler waiting for a message wakes up when the call is cut from this side.
    aborter.signal.addEventListener("abort", () => inbox.cancel(), { once: true });
    response.writeHead(200, { "content-type": contentType, "grpc-accept-encoding": "identity" });
    await options.handle({
      peer,
      signal: aborter.signal,
      receive: inbox.receive,
      send(message) {
        if (finished) return;
        const bytes = toBinary(options.method.output, message);
        const frame = Buffer.allocUnsafe(PREFIX_BYTES + bytes.length);
        frame[0] = 0;
        frame.writeUInt32BE(bytes.length, 1);
        frame.set(bytes, PREFIX_BYTES);
        response.write(frame);
      },
    });
    finish();
  } catch (error) {
    finish(error);
  } finally {
    unregister();
  }
}

interface Inbox<T> {
  receive(): Promise<T | undefined>;
  /** Fails the waiting and every later receive() with CANCELED. */
  cancel(): void;
}

/**
 * Splits the request body into length-prefixed messages and hands them out
 * one at a time; pauses the stream while READ_AHEAD wait unread. A bad frame
 * fails the call through `fail`, changing nothing.
 */
function readMessages<I extends DescMessage>(
  request: Http2ServerRequest,
  schema: I,
  maxBytes: number,
  fail: (error: unknown) => void,
): Inbox<MessageShape<I>> {
  const ready: MessageShape<I>[] = [];
  let waiting:
    | { resolve(message: MessageShape<I> | undefined): void; reject(error: unknown): void }
    | undefined;
  let ended = false;
  let failure: unknown;
  let pending: Buffer = Buffer.alloc(0);

  const settle = () => {
    if (!waiting) return;
    const waiter = waiting;
    if (ready.length > 0) {
      waiting = undefined;
      waiter.resolve(ready.shift());
    } else if (failure !== undefined) {
      waiting = undefined;
      waiter.reject(failure);
    } else if (ended) {
      waiting = undefined;
      waiter.resolve(undefined);
    }
  };
  const stop = (error: unknown) => {
    if (failure !== undefined) return;
    failure = error;
    request.removeListener("data", onData);
    settle();
    fail(error);
  };
  const onData = (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= PREFIX_BYTES) {
      const flags = pending[0] ?? 0;
      const length = pending.readUInt32BE(1);
      if (flags & 1) {
        stop(
          new ConnectError(
            "compressed messages are not accepted (grpc-encoding identity only)",
            Code.Unimplemented,
          ),
        );
        return;
      }
      if (length > maxBytes) {
        stop(
          new ConnectError(
            `message of ${length} bytes is over the limit of ${maxBytes}`,
            Code.ResourceExhausted,
          ),
        );
        return;
      }
      if (pending.length < PREFIX_BYTES + length) break;
      const bytes = pending.subarray(PREFIX_BYTES, PREFIX_BYTES + length);
      pending = pending.subarray(PREFIX_BYTES + length);
      try {
        ready.push(fromBinary(schema, bytes));
      } catch (error) {
        stop(new ConnectError(`malformed message: ${String(error)}`, Code.InvalidArgument));
        return;
      }
    }
    if (ready.length >= READ_AHEAD) request.pause();
    settle();
  };
  request.on("data", onData);
  request.once("end", () => {
    if (pending.length > 0 && failure === undefined) {
      stop(new ConnectError("the request ended inside a message", Code.InvalidArgument));
      return;
    }
    ended = true;
    settle();
  });
  request.once("aborted", () => stop(new ConnectError("the client went away", Code.Canceled)));
  return {
    cancel: () => stop(new ConnectError("the call was cancelled", Code.Canceled)),
    receive() {
      if (ready.length > 0) {
        const message = ready.shift();
        if (ready.length < READ_AHEAD / 2 && request.isPaused()) request.resume();
        return Promise.resolve(message);
      }
      if (failure !== undefined) return Promise.reject(failure);
      if (ended) return Promise.resolve(undefined);
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
      });
    },
  };
}

/**
 * gRPC's own percent-encoding of grpc-message: printable ASCII but "%" as is,
 * every other UTF-8 byte as %XX (encodeURIComponent escapes more, which
 * grpc-js shows undecoded).
 */
function percentEncoded(text: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(text)) return text;
  let encoded = "";
  for (const byte of new TextEncoder().encode(text)) {
    encoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}
