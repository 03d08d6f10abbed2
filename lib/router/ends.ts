import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import type { CallChannel } from "../channel/index.ts";
import { DroverError } from "../errors/index.ts";
import { exporterCalls } from "../exporter/kinds.ts";
import { RouterFrameSchema } from "../gen/drover/v1/exporter_pb.ts";
import { type StreamRequest, StreamResponseSchema } from "../gen/jumpstarter/v1/router_pb.ts";
import type { StreamBinding } from "./tokens.ts";

type Frame = MessageInitShape<typeof StreamResponseSchema>;

/** The exporter's end of one router stream, however the exporter is reached. */
export interface ExporterEnd {
  /** A frame from the client; waits for the exporter's credit. */
  send(frame: StreamRequest): Promise<void>;
  /** The client sends nothing more. */
  closeSend(): void;
  /** Frames from the exporter until it ends. */
  frames: AsyncIterable<Frame>;
}

/** A Drover exporter: one exporter.router call on its agent session. */
export function channelEnd(
  channel: CallChannel,
  binding: StreamBinding,
  signal: AbortSignal,
): ExporterEnd {
  const frame = (value: MessageInitShape<typeof RouterFrameSchema>) =>
    toBinary(RouterFrameSchema, create(RouterFrameSchema, value));
  const call = channel.open(
    exporterCalls.router.name,
    frame({
      frame: {
        case: "open",
        value: {
          leaseName: binding.leaseName,
          fencingToken: BigInt(binding.fencingToken),
          clientName: binding.client,
          streamId: binding.streamId,
        },
      },
    }),
    { streamRequests: true, signal },
  );
  return {
    send: (request) => call.send(frame({ frame: { case: "data", value: request } })),
    closeSend: () => call.closeSend(),
    frames: (async function* () {
      for await (const bytes of call) yield fromBinary(StreamResponseSchema, bytes);
    })(),
  };
}

/** A bounded hand-over of frames from one gRPC stream to another; a full queue waits. */
function frameQueue(limit: number, signal: AbortSignal) {
  const queue: Frame[] = [];
  let ended = false;
  let wakeReader: (() => void) | undefined;
  let wakeWriter: (() => void) | undefined;
  const wake = () => {
    for (const resolve of [wakeReader, wakeWriter]) resolve?.();
    wakeReader = undefined;
    wakeWriter = undefined;
  };
  signal.addEventListener("abort", wake, { once: true });
  return {
    async push(frame: Frame): Promise<void> {
      while (queue.length >= limit && !signal.aborted) {
        await new Promise<void>((resolve) => (wakeWriter = resolve));
      }
      if (signal.aborted) throw signal.reason;
      queue.push(frame);
      wake();
    },
    end(): void {
      ended = true;
      wake();
    },
    async *[Symbol.asyncIterator](): AsyncGenerator<Frame> {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        const next = queue.shift();
        if (next) {
          wake();
          yield next;
        } else if (ended) return;
        else await new Promise<void>((resolve) => (wakeReader = resolve));
      }
    },
  };
}

/** Frames queued per direction of a paired stream before its sender waits. */
const pairWindow = 16;

/**
 * A seed exporter that took a token from Listen and opened its own
 * RouterService.Stream: the two streams are paired, each one's requests the
 * other's responses.
 */
export interface PairedEnd extends ExporterEnd {
  /** Serves the exporter's stream: its frames go to the client, the client's come back. */
  attach(requests: AsyncIterable<StreamRequest>): AsyncGenerator<Frame>;
}

export function pairedEnd(signal: AbortSignal): PairedEnd {
  const toExporter = frameQueue(pairWindow, signal);
  const toClient = frameQueue(pairWindow, signal);
  let attached = false;
  return {
    send: (request) => toExporter.push({ payload: request.payload, frameType: request.frameType }),
    closeSend: () => toExporter.end(),
    frames: toClient,
    attach(requests) {
      if (attached) throw new DroverError("failed_precondition", "this stream is already open");
      attached = true;
      void (async () => {
        for await (const request of requests)
          await toClient.push({ payload: request.payload, frameType: request.frameType });
        toClient.end();
      })().catch(() => toClient.end());
      return toExporter[Symbol.asyncIterator]();
    },
  };
}
