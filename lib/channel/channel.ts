import { DroverError, errorCodes, isDroverError } from "../errors/index.ts";
import type { Timers } from "../time/index.ts";
import { type CallFrame, type CallSide, opensId } from "./frames.ts";
import type { CallHandler, CallHandlers, IncomingCall } from "./handlers.ts";

export interface ChannelLimits {
  /** Calls the peer may have open here at once; more are refused at once. */
  maxIncomingCalls: number;
  /** Messages one direction of a call may have in flight before the receiver grants more. */
  window: number;
}

export const defaultChannelLimits: ChannelLimits = { maxIncomingCalls: 64, window: 16 };

export interface CallChannelOptions {
  /** This end: the server opens even ids, the agent odd ones. */
  side: CallSide;
  /** Hands a frame to the session's transport. */
  send: (frame: CallFrame) => void;
  /** The kinds this end answers. */
  handlers: CallHandlers;
  timers: Timers;
  limits?: Partial<ChannelLimits>;
  /** Names the other end in errors ("agent a-1"). */
  peer: string;
}

export interface CallOptions {
  /** The callee has this long (ms); past it the call fails with deadline_exceeded on both ends. */
  deadlineMs?: number;
  /** Aborting cancels the call on both ends; the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Request messages follow the first one (send, then closeSend). */
  streamRequests?: boolean;
}

/** A call this end opened: iterate its responses; send further requests when streaming them. */
export interface OutgoingCall extends AsyncIterable<Uint8Array> {
  /** One more request message; waits for the callee's credit. */
  send(payload: Uint8Array): Promise<void>;
  /** No further request messages. */
  closeSend(): void;
  cancel(reason: string): void;
}

export interface CallChannel {
  /** One request, one response. */
  call(kind: string, payload: Uint8Array, options?: CallOptions): Promise<Uint8Array>;
  /** A call whose responses (and, with streamRequests, requests) stream. */
  open(kind: string, payload: Uint8Array, options?: CallOptions): OutgoingCall;
  /** A frame from the other end. */
  receive(frame: CallFrame): void;
  /** The session ended: every call fails with `error`, every handler's signal aborts. */
  close(error: DroverError): void;
  /** Calls open in either direction (for tests and gauges). */
  readonly openCalls: number;
}

/** A bounded queue of messages whose consumer grants credit as it reads. */
interface Inbox {
  messages: Uint8Array[];
  ended: boolean;
  error?: unknown;
  /** Read since credit was last granted. */
  consumed: number;
  wake?: () => void;
}

interface Outgoing {
  kind: string;
  responses: Inbox;
  /** Request messages this end may still send. */
  credit: number;
  creditWaiters: Array<() => void>;
  stop: () => void;
}

interface Incoming {
  controller: AbortController;
  requests: Inbox;
  /** Response messages this end may still send. */
  credit: number;
  creditWaiters: Array<() => void>;
  done: boolean;
  stopDeadline: () => void;
}

const maxId = 0xffff_fffe;

function notify(inbox: Inbox): void {
  const wake = inbox.wake;
  inbox.wake = undefined;
  wake?.();
}

function wakeAll(waiters: Array<() => void>): void {
  for (const wake of waiters.splice(0)) wake();
}

function callError(error: unknown): { code: DroverError["code"]; message: string } {
  if (isDroverError(error)) return { code: error.code, message: error.message };
  return { code: "internal", message: error instanceof Error ? error.message : String(error) };
}

/**
 * Calls in both directions over one session: ids, kinds, deadlines,
 * cancellation from either end, unary or streamed messages either way. Each
 * direction of a call has its own credit window, so a slow reader slows its
 * own call and never the session's reader: frames are only ever queued
 * within a window, never awaited.
 */
export function createCallChannel(options: CallChannelOptions): CallChannel {
  const limits = { ...defaultChannelLimits, ...options.limits };
  const outgoing = new Map<number, Outgoing>();
  const incoming = new Map<number, Incoming>();
  let nextId = options.side === "server" ? 2 : 1;
  let closed: DroverError | undefined;

  const send = (frame: CallFrame) => {
    if (!closed) options.send(frame);
  };

  function takeId(): number {
    const id = nextId;
    nextId = nextId >= maxId ? (options.side === "server" ? 2 : 1) : nextId + 2;
    return id;
  }

  /** Reads an inbox, granting its sender credit as messages are taken. */
  async function* drain(
    inbox: Inbox,
    grant: (messages: number) => void,
  ): AsyncGenerator<Uint8Array> {
    for (;;) {
      const message = inbox.messages.shift();
      if (message !== undefined) {
        inbox.consumed += 1;
        if (!inbox.ended && inbox.consumed >= Math.ceil(limits.window / 2)) {
          grant(inbox.consumed);
          inbox.consumed = 0;
        }
        yield message;
        continue;
      }
      if (inbox.error !== undefined) throw inbox.error;
      if (inbox.ended) return;
      await new Promise<void>((resolve) => {
        inbox.wake = resolve;
      });
    }
  }

  /** Ends one of this end's calls locally; `cancel` also tells the callee. */
  function finishOutgoing(id: number, error: unknown, cancel?: string): void {
    const call = outgoing.get(id);
    if (!call) return;
    outgoing.delete(id);
    call.stop();
    if (error !== undefined) call.responses.error = error;
    call.responses.ended = true;
    notify(call.responses);
    wakeAll(call.creditWaiters);
    if (cancel !== undefined) send({ id, type: "cancel", reason: cancel });
  }

  function open(kind: string, payload: Uint8Array, callOptions: CallOptions = {}): OutgoingCall {
    const id = takeId();
    const call: Outgoing = {
      kind,
      responses: { messages: [], ended: false, consumed: 0 },
      credit: 0,
      creditWaiters: [],
      stop: () => {},
    };
    const { signal, deadlineMs = 0 } = callOptions;
    if (closed || signal?.aborted) {
      call.responses.ended = true;
      call.responses.error = closed ?? signal?.reason;
    } else {
      outgoing.set(id, call);
      const cancelTimer =
        deadlineMs > 0
          ? options.timers.after(deadlineMs, () =>
              finishOutgoing(
                id,
                new DroverError(
                  "deadline_exceeded",
                  `${options.peer} did not answer ${kind} within ${deadlineMs} ms`,
                ),
                "deadline exceeded",
              ),
            )
          : () => {};
      const onAbort = () => finishOutgoing(id, signal?.reason, "cancelled by the caller");
      signal?.addEventListener("abort", onAbort, { once: true });
      call.stop = () => {
        cancelTimer();
        signal?.removeEventListener("abort", onAbort);
      };
      send({
        id,
        type: "open",
        kind,
        payload,
        deadlineMs,
        window: limits.window,
        halfClose: !callOptions.streamRequests,
      });
    }
    const responses = drain(call.responses, (messages) => send({ id, type: "credit", messages }));
    return {
      async *[Symbol.asyncIterator]() {
        try {
          yield* responses;
        } finally {
          // The reader stopped early: the callee need not go on.
          finishOutgoing(id, undefined, "the caller stopped reading");
        }
      },
      async send(message) {
        while (call.credit <= 0 && outgoing.has(id)) {
          await new Promise<void>((resolve) => call.creditWaiters.push(resolve));
        }
        if (!outgoing.has(id))
          throw call.responses.error ?? new DroverError("unavailable", `${kind} has ended`);
        call.credit -= 1;
        send({ id, type: "data", payload: message });
      },
      closeSend() {
        if (outgoing.has(id)) send({ id, type: "end" });
      },
      cancel(reason) {
        finishOutgoing(id, new DroverError("unavailable", `cancelled: ${reason}`), reason);
      },
    };
  }

  function finishIncoming(id: number, call: Incoming, reason: unknown): void {
    if (call.done) return;
    call.done = true;
    incoming.delete(id);
    call.stopDeadline();
    call.controller.abort(reason);
    call.requests.ended = true;
    notify(call.requests);
    wakeAll(call.creditWaiters);
  }

  async function serve(
    id: number,
    kind: string,
    handler: CallHandler,
    frame: CallFrame & { type: "open" },
  ) {
    const controller = new AbortController();
    const call: Incoming = {
      controller,
      requests: { messages: [], ended: frame.halfClose, consumed: 0 },
      credit: frame.window,
      creditWaiters: [],
      done: false,
      stopDeadline: () => {},
    };
    incoming.set(id, call);
    if (frame.deadlineMs > 0) {
      call.stopDeadline = options.timers.after(frame.deadlineMs, () => {
        const error = new DroverError("deadline_exceeded", `${kind} ran past its deadline`);
        if (call.done) return;
        send({ id, type: "end", error: callError(error) });
        finishIncoming(id, call, error);
      });
    }
    if (!frame.halfClose) send({ id, type: "credit", messages: limits.window });
    const sendResponse = async (payload: Uint8Array) => {
      while (call.credit <= 0 && !call.done) {
        await new Promise<void>((resolve) => call.creditWaiters.push(resolve));
      }
      if (call.done) throw controller.signal.reason;
      call.credit -= 1;
      send({ id, type: "data", payload });
    };
    const context: IncomingCall = {
      kind,
      payload: frame.payload,
      signal: controller.signal,
      requests: drain(call.requests, (messages) => send({ id, type: "credit", messages })),
      send: sendResponse,
    };
    try {
      const result = await handler(context);
      if (call.done) return;
      if (result !== undefined) await sendResponse(result);
      if (call.done) return;
      send({ id, type: "end" });
      finishIncoming(id, call, new DroverError("unavailable", `${kind} has ended`));
    } catch (error) {
      if (call.done) return;
      send({ id, type: "end", error: callError(error) });
      finishIncoming(id, call, error);
    }
  }

  function receiveForOwnCall(frame: CallFrame): void {
    const call = outgoing.get(frame.id);
    if (!call) return; // late frames of a call that already ended here
    switch (frame.type) {
      case "data":
        if (call.responses.messages.length >= limits.window) {
          finishOutgoing(
            frame.id,
            new DroverError(
              "resource_exhausted",
              `${options.peer} sent past its window in ${call.kind}`,
            ),
            "window exceeded",
          );
          return;
        }
        call.responses.messages.push(frame.payload);
        notify(call.responses);
        return;
      case "end":
        finishOutgoing(
          frame.id,
          frame.error === undefined
            ? undefined
            : new DroverError(frame.error.code, frame.error.message),
        );
        return;
      case "credit":
        call.credit += frame.messages;
        wakeAll(call.creditWaiters);
        return;
      default:
        return;
    }
  }

  function receiveForPeerCall(frame: CallFrame): void {
    const call = incoming.get(frame.id);
    switch (frame.type) {
      case "open": {
        if (call) return;
        const handler = options.handlers.get(frame.kind);
        const refusal = !handler
          ? new DroverError(
              "failed_precondition",
              `this end has no call kind ${frame.kind}; it may run an older version`,
            )
          : incoming.size >= limits.maxIncomingCalls
            ? new DroverError(
                "resource_exhausted",
                `more than ${limits.maxIncomingCalls} calls open at once`,
              )
            : undefined;
        if (refusal || !handler) {
          send({ id: frame.id, type: "end", error: callError(refusal) });
          return;
        }
        void serve(frame.id, frame.kind, handler, frame);
        return;
      }
      case "data":
        if (!call || call.requests.ended) return;
        if (call.requests.messages.length >= limits.window) {
          const error = new DroverError("resource_exhausted", "the caller sent past its window");
          send({ id: frame.id, type: "end", error: callError(error) });
          finishIncoming(frame.id, call, error);
          return;
        }
        call.requests.messages.push(frame.payload);
        notify(call.requests);
        return;
      case "end":
        if (!call) return;
        call.requests.ended = true;
        notify(call.requests);
        return;
      case "cancel":
        if (call)
          finishIncoming(
            frame.id,
            call,
            new DroverError("unavailable", `cancelled by the caller: ${frame.reason}`),
          );
        return;
      case "credit":
        if (!call) return;
        call.credit += frame.messages;
        wakeAll(call.creditWaiters);
        return;
    }
  }

  return {
    open,
    async call(kind, payload, callOptions) {
      let response: Uint8Array | undefined;
      for await (const message of open(kind, payload, callOptions)) {
        if (response !== undefined)
          throw new DroverError("internal", `${options.peer} answered ${kind} more than once`);
        response = message;
      }
      if (response === undefined)
        throw new DroverError("internal", `${options.peer} answered ${kind} with nothing`);
      return response;
    },
    receive(frame) {
      if (closed) return;
      if (opensId(options.side, frame.id)) receiveForOwnCall(frame);
      else receiveForPeerCall(frame);
    },
    close(error) {
      if (closed) return;
      closed = error;
      for (const id of [...outgoing.keys()]) finishOutgoing(id, error);
      for (const [id, call] of [...incoming]) finishIncoming(id, call, error);
    },
    get openCalls() {
      return outgoing.size + incoming.size;
    },
  };
}

/** Whether a code read from the wire is one of ours; anything else reads as internal. */
export function knownErrorCode(code: string): DroverError["code"] {
  return (errorCodes as readonly string[]).includes(code)
    ? (code as DroverError["code"])
    : "internal";
}
