// Issue 12, StreamLogs over WebSocket: a slow reader slows the agent's stream (backpressure), and closing cancels it.
import { afterEach, expect, test } from "bun:test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import WebSocket from "ws";
import type { NodeFunctions, NodeLogLine } from "../node/index.ts";
import { systemClock } from "../time/index.ts";
import { createLogSocket } from "./log-socket.ts";
import type { RestDeps } from "./rest-deps.ts";

/**
 * A SIMULATED agent: the node service is a stand-in whose log stream never
 * ends and counts what the socket pulled from it; the socket, the HTTP server
 * and the client are real. The operator certificate path authenticates
 * (peerOf and the certificate store are stand-ins too).
 */
function simulatedDeps() {
  const stream = { pulled: 0, cancelled: false };
  const line = "x".repeat(1000);
  async function* streamLogs(
    _principal: unknown,
    _agentId: string,
    _query: unknown,
    signal: AbortSignal,
  ): AsyncGenerator<NodeLogLine> {
    signal.addEventListener("abort", () => (stream.cancelled = true));
    while (!signal.aborted) {
      stream.pulled += 1;
      yield { timestamp: Date.now(), message: line, source: "app", priority: 6 };
      // Let the socket write between lines, as a real stream's network reads would.
      if (stream.pulled % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const deps = {
    sessions: { clock: systemClock },
    logger: { info() {}, error() {}, warn() {} },
    node: { streamLogs } as unknown as NodeFunctions,
    peerOf: () => ({ identity: { role: "operator", id: "op-1" }, serial: "01" }),
    fleet: {
      deps: {
        store: {
          certificates: { get: async () => ({ notAfter: new Date(Date.now() + 3_600_000) }) },
        },
      },
    },
  } as unknown as RestDeps;
  return { deps, stream };
}

let server: Server | undefined;
afterEach(() => server?.close());

async function serve(deps: RestDeps, limits = { maxBufferedBytes: 256 * 1024 }) {
  const logSocket = createLogSocket(deps, limits);
  server = createServer();
  server.on(
    "upgrade",
    (request, socket, head) => void logSocket.handleUpgrade(request, socket, head),
  );
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return `ws://127.0.0.1:${port}/v1/agents/a1/system-logs/follow?file=app`;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until `pulled` stops growing over 300 ms; returns it. */
async function stalled(stream: { pulled: number }): Promise<number> {
  const deadline = Date.now() + 10_000;
  let before = -1;
  while (Date.now() < deadline) {
    before = stream.pulled;
    await settle(300);
    if (stream.pulled === before) return before;
  }
  throw new Error(`the stream was still read after 10 s: ${stream.pulled} lines`);
}

test("a client that stops reading stops the agent's stream being read; reading again resumes it", async () => {
  const { deps, stream } = simulatedDeps();
  const client = new WebSocket(await serve(deps));
  let received = 0;
  client.on("message", () => (received += 1));
  await new Promise((resolve) => client.once("open", resolve));
  client.pause();
  const held = await stalled(stream);
  // Bounded by the socket's buffer plus what the kernel holds on loopback, not by the stream.
  expect(held).toBeGreaterThan(0);
  expect(held * 1000).toBeLessThan(64 * 1024 * 1024);
  client.resume();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no progress after resume")), 10_000);
    const check = setInterval(() => {
      if (stream.pulled > held + 1000 && received > held) {
        clearTimeout(timer);
        clearInterval(check);
        resolve();
      }
    }, 20);
  });
  client.close();
  await new Promise((resolve) => client.once("close", resolve));
  await stalled(stream);
  expect(stream.cancelled).toBe(true);
});

test("messages from the client are ignored; a large frame closes the socket (1009)", async () => {
  const { deps, stream } = simulatedDeps();
  const client = new WebSocket(await serve(deps));
  client.on("error", () => {});
  await new Promise((resolve) => client.once("open", resolve));
  client.send("hello");
  await settle(100);
  expect(client.readyState).toBe(WebSocket.OPEN);
  const closed = new Promise<number>((resolve) => client.once("close", (code) => resolve(code)));
  client.send("x".repeat(64 * 1024));
  expect(await closed).toBe(1009);
  await stalled(stream);
  expect(stream.cancelled).toBe(true);
});
