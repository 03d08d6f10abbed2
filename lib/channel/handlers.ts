import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { DroverError } from "../errors/index.ts";
import type { CallChannel, CallOptions } from "./channel.ts";

/** A call the other end opened, as its handler sees it. */
export interface IncomingCall {
  kind: string;
  /** The first request message. */
  payload: Uint8Array;
  /** Further request messages, when the caller streams them. */
  requests: AsyncIterable<Uint8Array>;
  /** Aborts on cancellation, the deadline or the session's end: stop work then. */
  signal: AbortSignal;
  /** Streams one response message; waits for the caller's credit (a slow reader slows this call only). */
  send(payload: Uint8Array): Promise<void>;
}

/** Answers one kind: a unary handler returns its response, a streaming one sends and returns nothing. */
export type CallHandler = (call: IncomingCall) => Promise<Uint8Array | undefined>;

/** The kinds one end answers; each module registers its own. */
export interface CallHandlers {
  register(kind: string, handler: CallHandler): void;
  get(kind: string): CallHandler | undefined;
}

export function createCallHandlers(): CallHandlers {
  const handlers = new Map<string, CallHandler>();
  return {
    register(kind, handler) {
      if (handlers.has(kind))
        throw new DroverError("already_exists", `call kind ${kind} is registered twice`);
      handlers.set(kind, handler);
    },
    get: (kind) => handlers.get(kind),
  };
}

/** `own` first, then `shared`: kinds bound to one session (its agent) over the server's common ones. */
export function layerHandlers(own: CallHandlers, shared: CallHandlers): CallHandlers {
  return { register: own.register, get: (kind) => own.get(kind) ?? shared.get(kind) };
}

/** A call kind with its protobuf messages: the name on the wire and the shapes both ends agree on. */
export interface CallKind<Request extends DescMessage, Response extends DescMessage> {
  name: string;
  request: Request;
  response: Response;
}

export function defineCallKind<Request extends DescMessage, Response extends DescMessage>(
  name: string,
  request: Request,
  response: Response,
): CallKind<Request, Response> {
  return { name, request, response };
}

function decode<Desc extends DescMessage>(
  schema: Desc,
  bytes: Uint8Array,
  kind: string,
): MessageShape<Desc> {
  try {
    return fromBinary(schema, bytes);
  } catch (error) {
    throw new DroverError(
      "invalid_argument",
      `${kind}: not a ${schema.typeName} (${error instanceof Error ? error.message : String(error)})`,
    );
  }
}

/** One request, one response, typed. */
export async function callUnary<Request extends DescMessage, Response extends DescMessage>(
  channel: CallChannel,
  kind: CallKind<Request, Response>,
  request: MessageInitShape<Request>,
  options?: CallOptions,
): Promise<MessageShape<Response>> {
  const bytes = await channel.call(
    kind.name,
    toBinary(kind.request, create(kind.request, request)),
    options,
  );
  return decode(kind.response, bytes, kind.name);
}

/** One request, a stream of responses, typed; breaking out of the loop cancels the call. */
export async function* callStreaming<Request extends DescMessage, Response extends DescMessage>(
  channel: CallChannel,
  kind: CallKind<Request, Response>,
  request: MessageInitShape<Request>,
  options?: CallOptions,
): AsyncGenerator<MessageShape<Response>> {
  const call = channel.open(
    kind.name,
    toBinary(kind.request, create(kind.request, request)),
    options,
  );
  for await (const bytes of call) yield decode(kind.response, bytes, kind.name);
}

/** Registers a typed unary handler. */
export function handleUnary<Request extends DescMessage, Response extends DescMessage>(
  handlers: CallHandlers,
  kind: CallKind<Request, Response>,
  handler: (
    request: MessageShape<Request>,
    signal: AbortSignal,
  ) => Promise<MessageInitShape<Response>>,
): void {
  handlers.register(kind.name, async (call) => {
    const response = await handler(decode(kind.request, call.payload, kind.name), call.signal);
    return toBinary(kind.response, create(kind.response, response));
  });
}

/** Registers a typed handler that streams its responses through `send`. */
export function handleStreaming<Request extends DescMessage, Response extends DescMessage>(
  handlers: CallHandlers,
  kind: CallKind<Request, Response>,
  handler: (
    request: MessageShape<Request>,
    send: (response: MessageInitShape<Response>) => Promise<void>,
    signal: AbortSignal,
  ) => Promise<void>,
): void {
  handlers.register(kind.name, async (call) => {
    await handler(
      decode(kind.request, call.payload, kind.name),
      (response) => call.send(toBinary(kind.response, create(kind.response, response))),
      call.signal,
    );
    return undefined;
  });
}
