/**
 * One LEAN simulated agent for the scale bench: its own mTLS HTTP/2
 * connection and one AgentService.Session stream with hand-made gRPC framing,
 * speaking the real agent protocol (hello, session.welcome, heartbeats,
 * answering calls and deliveries) without createAgent's per-agent machinery,
 * so that thousands fit in one process.
 */
import { createHash } from "node:crypto";
import { type ClientHttp2Session, connect } from "node:http2";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { backoffDelay, defaultBackoff } from "../../lib/agent/backoff.ts";
import { HealthStatusSchema } from "../../lib/gen/drover/node/v1/node_pb.ts";
import {
  type CallFrame,
  CallFrameSchema,
  ConfigApplyState,
  type FileDelivery,
  type FileDigest,
  FileDigestSchema,
  NginxMode,
  SessionRequestSchema,
  SessionResponseSchema,
  WelcomeRequestSchema,
} from "../../lib/gen/drover/v1/session_pb.ts";
import { pause } from "../table.ts";
import { createFrameReader, frameMessage } from "./grpc-frames.ts";

export interface SimIdentity {
  id: string;
  certificatePem: string;
  privateKeyPem: string;
}

export interface SimTarget {
  /** HOST:PORT of the agent bind (or the bare server). */
  address: string;
  caPem: string;
  /** The source address of the connection (127.0.0.2…), spreading ephemeral ports. */
  localAddress?: string;
  heartbeatMs: number;
  /** False against the bare server, which answers nothing: an open stream counts as settled. */
  welcome: boolean;
}

/** What a simulator process counts over all its agents. */
export interface SimCounters {
  /** Connection attempts started (first connects and reconnects). */
  attempts: number;
  /** Sessions the server welcomed. */
  welcomed: number;
  heartbeats: number;
  callsAnswered: number;
  deliveries: number;
  /** Attempts and sessions that ended, by reason (refused, reset, grpc status, …). */
  failures: Record<string, number>;
}

export function emptyCounters(): SimCounters {
  return { attempts: 0, welcomed: 0, heartbeats: 0, callsAnswered: 0, deliveries: 0, failures: {} };
}

export type SimState = "idle" | "connecting" | "open" | "welcomed";

export interface SimAgent {
  readonly id: string;
  state(): SimState;
  /**
   * Keeps a session open until the signal aborts, reconnecting with the real
   * agent's backoff; `firstAttempt` resolves once the first attempt was
   * welcomed or failed (the caller paces first connects with it).
   */
  run(target: SimTarget, signal: AbortSignal, firstAttempt: () => void): Promise<void>;
}

const welcomeCallId = 1;
const sessionPath = "/drover.v1.AgentService/Session";

function encodeRequest(payload: MessageInitShape<typeof SessionRequestSchema>["payload"]): Buffer {
  return frameMessage(toBinary(SessionRequestSchema, create(SessionRequestSchema, { payload })));
}

// The same for every simulated agent: encoded once.
const helloFrame = encodeRequest({
  case: "hello",
  value: { fileRoot: "/srv/drover/files", nginxMode: NginxMode.OFF, manifest: [] },
});
const welcomeFrame = callFrame({
  id: welcomeCallId,
  frame: {
    case: "open",
    value: {
      kind: "session.welcome",
      payload: toBinary(
        WelcomeRequestSchema,
        create(WelcomeRequestSchema, { agentVersion: "bench" }),
      ),
      window: 16,
      halfClose: true,
    },
  },
});
const healthStatusPayload = toBinary(
  HealthStatusSchema,
  create(HealthStatusSchema, { status: "OK", version: "bench" }),
);

function callFrame(frame: MessageInitShape<typeof CallFrameSchema>): Buffer {
  return encodeRequest({ case: "call", value: create(CallFrameSchema, frame) });
}

function heartbeatFrame(): Buffer {
  return encodeRequest({
    case: "health",
    value: {
      observedAt: timestampFromDate(new Date()),
      cpuPercent: 3,
      memoryUsedBytes: 268_435_456n,
      memoryTotalBytes: 1_073_741_824n,
      diskUsedBytes: 4_000_000_000n,
      diskTotalBytes: 16_000_000_000n,
      loadAverage1m: 0.1,
      loadAverage5m: 0.1,
      loadAverage15m: 0.1,
      uptimeSeconds: 3600,
      version: "bench",
      configHash: "",
      checks: [],
      alerts: [],
    },
  });
}

/** Why an attempt or session ended, as a short counter key. */
function failureReason(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  if (code === "ECONNREFUSED") return "refused";
  if (code === "ECONNRESET" || code === "EPIPE") return "reset";
  return typeof code === "string" ? code : String(error).slice(0, 60);
}

export function createSimAgent(identity: SimIdentity, counters: SimCounters): SimAgent {
  let state: SimState = "idle";
  // The files it holds, as the delivered digests: it writes nothing to disk.
  const held = new Map<string, FileDigest>();
  const fail = (reason: string) => {
    counters.failures[reason] = (counters.failures[reason] ?? 0) + 1;
  };

  function onDelivery(delivery: FileDelivery, send: (frame: Buffer) => void) {
    counters.deliveries += 1;
    for (const file of delivery.files) {
      const sha256 = createHash("sha256").update(file.content).digest("hex");
      held.set(file.path, create(FileDigestSchema, { path: file.path, sha256, mode: file.mode }));
    }
    for (const path of delivery.remove) held.delete(path);
    send(
      encodeRequest({
        case: "configStatus",
        value: {
          version: delivery.version,
          state: ConfigApplyState.SUCCESS,
          steps: [],
          errors: [],
          refused: [],
          durationMs: 0,
          manifest: [...held.values()],
        },
      }),
    );
  }

  function onCall(frame: CallFrame, send: (frame: Buffer) => void, welcomed: () => void) {
    const { id } = frame;
    if (frame.frame.case === "open") {
      counters.callsAnswered += 1;
      if (frame.frame.value.kind === "node.health_check") {
        send(callFrame({ id, frame: { case: "data", value: { payload: healthStatusPayload } } }));
        send(callFrame({ id, frame: { case: "end", value: { errorCode: "", errorMessage: "" } } }));
      } else {
        send(
          callFrame({
            id,
            frame: {
              case: "end",
              value: {
                errorCode: "failed_precondition",
                errorMessage: `the simulated agent answers no ${frame.frame.value.kind}`,
              },
            },
          }),
        );
      }
    } else if (id === welcomeCallId && frame.frame.case === "end") {
      if (frame.frame.value.errorCode === "") welcomed();
      else fail(`welcome ${frame.frame.value.errorCode}`);
    }
  }

  /** One connection and session; resolves when it ended, with whether it was welcomed. */
  function session(target: SimTarget, signal: AbortSignal, settled: () => void): Promise<boolean> {
    counters.attempts += 1;
    state = "connecting";
    return new Promise((resolve) => {
      let welcomed = false;
      let done = false;
      let heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
      const client: ClientHttp2Session = connect(`https://${target.address}`, {
        ca: target.caPem,
        cert: identity.certificatePem,
        key: identity.privateKeyPem,
        ...(target.localAddress ? { localAddress: target.localAddress } : {}),
      });
      const finish = (reason: string) => {
        if (done) return;
        done = true;
        state = "idle";
        clearTimeout(heartbeatTimer);
        signal.removeEventListener("abort", onAbort);
        if (!signal.aborted) fail(welcomed ? `ended: ${reason}` : reason);
        client.destroy();
        settled();
        resolve(welcomed);
      };
      const onAbort = () => finish("aborted");
      signal.addEventListener("abort", onAbort, { once: true });
      client.once("connect", () => {
        if (state === "connecting") state = "open";
        if (!target.welcome) settled();
      });
      client.on("error", (error) => finish(failureReason(error)));
      client.once("close", () => finish("closed"));
      const stream = client.request({
        ":method": "POST",
        ":path": sessionPath,
        "content-type": "application/grpc+proto",
        te: "trailers",
      });
      const send = (frame: Buffer) => {
        if (!done && !stream.destroyed) stream.write(frame);
      };
      const beat = () => {
        counters.heartbeats += 1;
        send(heartbeatFrame());
        heartbeatTimer = setTimeout(beat, target.heartbeatMs);
      };
      const read = createFrameReader((bytes) => {
        const response = fromBinary(SessionResponseSchema, bytes);
        const { payload } = response;
        if (payload.case === "call")
          onCall(payload.value, send, () => {
            welcomed = true;
            state = "welcomed";
            counters.welcomed += 1;
            settled();
          });
        else if (payload.case === "files") onDelivery(payload.value, send);
      });
      stream.on("data", (chunk: Buffer) => {
        try {
          read(chunk);
        } catch (error) {
          finish(`bad frame: ${String(error).slice(0, 40)}`);
        }
      });
      stream.on("trailers", (trailers) => {
        const status = trailers["grpc-status"];
        if (status !== undefined && status !== "0") finish(`grpc-status ${String(status)}`);
      });
      stream.on("error", (error) => finish(failureReason(error)));
      stream.once("close", () => finish("stream closed"));
      send(helloFrame);
      send(welcomeFrame);
      // The first heartbeat at a random point of the interval, so they spread.
      heartbeatTimer = setTimeout(beat, Math.random() * target.heartbeatMs);
    });
  }

  return {
    id: identity.id,
    state: () => state,
    async run(target, signal, firstAttempt) {
      let attempt = 0;
      let first = true;
      const settled = () => {
        if (!first) return;
        first = false;
        firstAttempt();
      };
      while (!signal.aborted) {
        if (await session(target, signal, settled)) attempt = 0;
        settled();
        if (signal.aborted) break;
        await pause(backoffDelay(defaultBackoff, attempt++), signal);
      }
    },
  };
}
