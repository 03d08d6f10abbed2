// Issue 12, the channel: calls both ways, deadlines, cancellation from either end, slow readers, a dropped session, many calls.
import { describe, expect, test } from "bun:test";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { manualTimers } from "../../test/support/timers.ts";
import { DroverError } from "../errors/index.ts";
import { type CallChannel, createCallChannel } from "./channel.ts";
import type { CallFrame } from "./frames.ts";
import { type CallHandlers, createCallHandlers } from "./handlers.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
/** Expects a DroverError with this code and a message matching the pattern. */
async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  message: RegExp,
): Promise<void> {
  const error = await expectDroverRejection(promise);
  expect(error.code).toBe(code as DroverError["code"]);
  expect(error.message).toMatch(message);
}
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** A server end and an agent end joined by an asynchronous "transport" that counts frames. */
function pair() {
  const timers = manualTimers();
  const serverHandlers = createCallHandlers();
  const agentHandlers = createCallHandlers();
  const frames: Array<{ to: "server" | "agent"; frame: CallFrame }> = [];
  let server: CallChannel;
  let agent: CallChannel;
  const deliver = (to: "server" | "agent") => (frame: CallFrame) => {
    frames.push({ to, frame });
    queueMicrotask(() => (to === "server" ? server : agent).receive(frame));
  };
  server = createCallChannel({
    side: "server",
    send: deliver("agent"),
    handlers: serverHandlers,
    timers,
    peer: "agent a-1",
  });
  agent = createCallChannel({
    side: "agent",
    send: deliver("server"),
    handlers: agentHandlers,
    timers,
    peer: "the server",
  });
  return { server, agent, serverHandlers, agentHandlers, timers, frames };
}

function echo(handlers: CallHandlers): void {
  handlers.register("echo", async (call) => bytes(`echo ${text(call.payload)}`));
}

describe("calls over one session", () => {
  test("the server calls the agent and the agent calls the server, with even and odd ids", async () => {
    const { server, agent, serverHandlers, agentHandlers, frames } = pair();
    echo(agentHandlers);
    echo(serverHandlers);
    expect(text(await server.call("echo", bytes("from server")))).toBe("echo from server");
    expect(text(await agent.call("echo", bytes("from agent")))).toBe("echo from agent");
    const opens = frames.filter(({ frame }) => frame.type === "open").map(({ frame }) => frame.id);
    expect(opens.map((id) => id % 2)).toEqual([0, 1]);
    expect(server.openCalls + agent.openCalls).toBe(0);
  });

  test("an unknown kind and a handler's error come back as DroverErrors with their codes", async () => {
    const { server, agentHandlers } = pair();
    agentHandlers.register("fails", async () => {
      throw new DroverError("not_found", "no such thing here");
    });
    await rejectsWith(server.call("nope", bytes("")), "failed_precondition", /no call kind nope/);
    await rejectsWith(server.call("fails", bytes("")), "not_found", /no such thing/);
  });

  test("a deadline fails the call on the caller and aborts the handler on the callee", async () => {
    const { server, agentHandlers, timers } = pair();
    let aborted: unknown;
    agentHandlers.register("slow", (call) => {
      return new Promise((_, reject) =>
        call.signal.addEventListener("abort", () => {
          aborted = call.signal.reason;
          reject(call.signal.reason);
        }),
      );
    });
    const result = server.call("slow", bytes(""), { deadlineMs: 5_000 });
    let settled = false;
    result.catch(() => {}).finally(() => (settled = true));
    await tick();
    timers.advance(4_999);
    await tick();
    expect(settled).toBe(false);
    timers.advance(1);
    await rejectsWith(result, "deadline_exceeded", /did not answer slow within 5000 ms/);
    await tick();
    expect(aborted).toBeInstanceOf(DroverError);
    expect(timers.pending).toBe(0);
  });

  test("the caller cancels: the handler's signal aborts and the caller rejects with its reason", async () => {
    const { server, agent, agentHandlers } = pair();
    let handlerSignal: AbortSignal | undefined;
    agentHandlers.register("wait", (call) => {
      handlerSignal = call.signal;
      return new Promise(() => {});
    });
    const controller = new AbortController();
    const result = server.call("wait", bytes(""), { signal: controller.signal });
    await tick();
    expect(agent.openCalls).toBe(1);
    controller.abort(new Error("operator went away"));
    await expect(result).rejects.toThrow("operator went away");
    await tick();
    expect(handlerSignal?.aborted).toBe(true);
    expect(agent.openCalls).toBe(0);
  });

  test("the callee ends a streaming call early with an error: the caller's loop throws it", async () => {
    const { server, agentHandlers } = pair();
    agentHandlers.register("count", async (call) => {
      await call.send(bytes("1"));
      throw new DroverError("unavailable", "the device went away");
    });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const message of server.open("count", bytes(""))) seen.push(text(message));
    })();
    await rejectsWith(reading, "unavailable", /device went away/);
    expect(seen).toEqual(["1"]);
  });

  test("a slow reader holds its own stream at the window while another call on the session completes", async () => {
    const { server, agentHandlers } = pair();
    echo(agentHandlers);
    let sent = 0;
    agentHandlers.register("firehose", async (call) => {
      for (let i = 0; i < 100; i++) {
        await call.send(bytes(String(i)));
        sent += 1;
      }
      return undefined;
    });
    const stream = server.open("firehose", bytes(""))[Symbol.asyncIterator]();
    await stream.next();
    for (let i = 0; i < 10; i++) await tick();
    // Nobody reads: the sender stops at the window (16), not at 100.
    expect(sent).toBe(16);
    // The session is not blocked: another call goes through.
    expect(text(await server.call("echo", bytes("still here")))).toBe("echo still here");
    const received: string[] = [];
    for (;;) {
      const next = await stream.next();
      if (next.done) break;
      received.push(text(next.value));
    }
    expect(received.length).toBe(99);
    expect(sent).toBe(100);
  });

  test("requests stream from the caller with credit too", async () => {
    const { server, agentHandlers } = pair();
    agentHandlers.register("sum", async (call) => {
      let total = Number(text(call.payload));
      for await (const message of call.requests) total += Number(text(message));
      return bytes(String(total));
    });
    const call = server.open("sum", bytes("1"), { streamRequests: true });
    const reading = (async () => {
      const out: string[] = [];
      for await (const message of call) out.push(text(message));
      return out;
    })();
    for (let i = 2; i <= 40; i++) await call.send(bytes(String(i)));
    call.closeSend();
    expect(await reading).toEqual(["820"]);
  });

  test("the session drops mid-call: callers get a clear error, handlers abort, nothing hangs", async () => {
    const { server, agent, agentHandlers } = pair();
    let handlerAborted = false;
    agentHandlers.register("wait", (call) => {
      call.signal.addEventListener("abort", () => (handlerAborted = true));
      return new Promise(() => {});
    });
    const pending = [server.call("wait", bytes("")), server.call("wait", bytes(""))];
    await tick();
    const gone = new DroverError("unavailable", "agent a-1 disconnected");
    server.close(gone);
    agent.close(gone);
    for (const call of pending) await rejectsWith(call, "unavailable", /disconnected/);
    expect(handlerAborted).toBe(true);
    await rejectsWith(server.call("wait", bytes("")), "unavailable", /disconnected/);
  });

  test("a peer over the window is refused for that call only, and over the call limit at once", async () => {
    const timers = manualTimers();
    const handlers = createCallHandlers();
    handlers.register("wait", () => new Promise(() => {}));
    const replies: CallFrame[] = [];
    const agent = createCallChannel({
      side: "agent",
      send: (frame) => replies.push(frame),
      handlers,
      timers,
      peer: "the server",
      limits: { maxIncomingCalls: 2 },
    });
    for (const id of [2, 4, 6]) {
      agent.receive({
        id,
        type: "open",
        kind: "wait",
        payload: bytes(""),
        deadlineMs: 0,
        window: 4,
        halfClose: true,
      });
    }
    await tick();
    expect(replies).toEqual([
      {
        id: 6,
        type: "end",
        error: { code: "resource_exhausted", message: "more than 2 calls open at once" },
      },
    ]);
    expect(agent.openCalls).toBe(2);
  });

  test("as many concurrent calls as the limit allows (64 each way) all complete on one session", async () => {
    const { server, agent, serverHandlers, agentHandlers } = pair();
    echo(agentHandlers);
    echo(serverHandlers);
    const calls = Array.from({ length: 128 }, (_, i) =>
      (i % 2 === 0 ? server : agent).call("echo", bytes(String(i))).then(text),
    );
    const results = await Promise.all(calls);
    expect(results).toEqual(Array.from({ length: 128 }, (_, i) => `echo ${i}`));
    expect(server.openCalls + agent.openCalls).toBe(0);
  });
});
