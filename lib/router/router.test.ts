// Issue 14, the router: single-use, short-lived tokens bound to one lease, and streams relayed over the agent session and cut when the lease ends.
import { describe, expect, test } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { manualTimers } from "../../test/support/timers.ts";
import type { CallFrame } from "../channel/index.ts";
import {
  type CallChannel,
  createAgentChannels,
  createCallChannel,
  createCallHandlers,
} from "../channel/index.ts";
import { exporterCalls } from "../exporter/kinds.ts";
import { RouterFrameSchema } from "../gen/drover/v1/exporter_pb.ts";
import { type StreamRequest, StreamResponseSchema } from "../gen/jumpstarter/v1/router_pb.ts";
import type { Lease } from "../lease/index.ts";
import type { Clock } from "../time/index.ts";
import { createRouter } from "./relay.ts";
import { createRouterTokens, type StreamBinding } from "./tokens.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

function movableClock(start = Date.parse("2026-12-05T12:00:00Z")) {
  let now = start;
  const clock: Clock = { now: () => new Date(now) };
  return { clock, advance: (ms: number) => (now += ms) };
}

const binding: StreamBinding = {
  side: "client",
  leaseName: "lease-1",
  exporterId: "exp-1",
  fencingToken: 7,
  client: "user:u1",
  streamId: "s-1",
};

describe("router tokens", () => {
  test("a token opens once, expires after its TTL, and dies with its lease", () => {
    const { clock, advance } = movableClock();
    const tokens = createRouterTokens(clock, { ttlMs: 30_000, maxOutstanding: 2 });
    const first = tokens.issue(binding);
    expect(tokens.redeem(first.token)).toEqual(binding);
    expect(() => tokens.redeem(first.token)).toThrow(/unknown, used or expired/);
    const late = tokens.issue(binding);
    advance(30_000);
    expect(() => tokens.redeem(late.token)).toThrow(/unknown, used or expired/);
    const revoked = tokens.issue(binding);
    tokens.revokeLease("lease-1");
    expect(() => tokens.redeem(revoked.token)).toThrow(/unknown, used or expired/);
  });

  test("outstanding tokens are bounded; expired ones make room", () => {
    const { clock, advance } = movableClock();
    const tokens = createRouterTokens(clock, { ttlMs: 1_000, maxOutstanding: 2 });
    tokens.issue(binding);
    tokens.issue(binding);
    expect(() => tokens.issue(binding)).toThrow(/2 router tokens are waiting/);
    advance(1_000);
    expect(tokens.issue(binding).token).toHaveLength(43);
    expect(tokens.outstanding).toBe(1);
  });
});

/** A server end and an exporter's agent end joined in process, the exporter echoing each data frame. */
function exporterPair() {
  const timers = manualTimers();
  const agentHandlers = createCallHandlers();
  let server: CallChannel;
  let agent: CallChannel;
  const deliver = (to: () => CallChannel) => (frame: CallFrame) =>
    queueMicrotask(() => to().receive(frame));
  server = createCallChannel({
    side: "server",
    send: deliver(() => agent),
    handlers: createCallHandlers(),
    timers,
    peer: "agent exp-1",
  });
  agent = createCallChannel({
    side: "agent",
    send: deliver(() => server),
    handlers: agentHandlers,
    timers,
    peer: "the server",
  });
  const opened: Array<{ leaseName: string; fencingToken: bigint; clientName: string }> = [];
  agentHandlers.register(exporterCalls.router.name, async (call) => {
    const first = fromBinary(RouterFrameSchema, call.payload);
    if (first.frame.case === "open") opened.push(first.frame.value);
    for await (const payload of call.requests) {
      const frame = fromBinary(RouterFrameSchema, payload);
      if (frame.frame.case !== "data") continue;
      await call.send(
        toBinary(
          StreamResponseSchema,
          create(StreamResponseSchema, {
            payload: bytes(`echo ${text(frame.frame.value.payload)}`),
          }),
        ),
      );
    }
    return undefined;
  });
  const channels = createAgentChannels();
  channels.attach("exp-1", server);
  return { channels, opened };
}

/** Requests the test pushes one at a time. */
function requestQueue() {
  const queue: StreamRequest[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  return {
    push(payload: string) {
      queue.push({ payload: bytes(payload), frameType: 0 } as StreamRequest);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = queue.shift();
        if (next) yield next;
        else if (ended) return;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  };
}

describe("router streams", () => {
  const readyLease = { name: "lease-1", phase: "Ready", fencingToken: 7 } as Lease;

  test("frames go to the exporter under the lease's fencing token and come back", async () => {
    const { clock } = movableClock();
    const { channels, opened } = exporterPair();
    let lease: Lease = readyLease;
    const router = createRouter({
      channels,
      tokens: createRouterTokens(clock),
      leaseByName: async () => lease,
      timers: manualTimers(),
    });
    const { routerToken, routerEndpoint } = router.dial(
      { lease: { ...readyLease, client: "user:u1" }, exporterId: "exp-1", fencingToken: 7 },
      "127.0.0.1:8443",
    );
    expect(routerEndpoint).toBe("127.0.0.1:8443");
    const requests = requestQueue();
    const responses = router.stream(routerToken, requests);
    requests.push("one");
    expect(text((await responses.next()).value?.payload as Uint8Array)).toBe("echo one");
    requests.push("two");
    expect(text((await responses.next()).value?.payload as Uint8Array)).toBe("echo two");
    expect(opened).toEqual([
      expect.objectContaining({ leaseName: "lease-1", fencingToken: 7n, clientName: "user:u1" }),
    ]);
    expect(router.openStreams).toBe(1);

    // The lease ends: the stream is cut with FAILED_PRECONDITION, and the token cannot open another.
    lease = { ...readyLease, phase: "Ended", reason: "Expired" } as Lease;
    const next = responses.next();
    await router.leasesChanged(["lease-1"]);
    const error = await expectDroverRejection(next);
    expect(error.code).toBe("failed_precondition");
    expect(error.message).toMatch(/lease lease-1 has ended \(Expired\)/);
    expect(router.openStreams).toBe(0);
    await expectDroverRejection(router.stream(routerToken, requestQueue()).next());
  });

  test("a token for a lease that ended before it was used opens nothing", async () => {
    const { clock } = movableClock();
    const { channels, opened } = exporterPair();
    const router = createRouter({
      channels,
      tokens: createRouterTokens(clock),
      leaseByName: async () => ({ ...readyLease, phase: "Ended", reason: "Released" }) as Lease,
      timers: manualTimers(),
    });
    const { routerToken } = router.dial(
      { lease: readyLease, exporterId: "exp-1", fencingToken: 7 },
      "x:1",
    );
    const error = await expectDroverRejection(router.stream(routerToken, requestQueue()).next());
    expect(error.code).toBe("failed_precondition");
    expect(opened).toHaveLength(0);
  });
});
