// Audit issue 9, items 1 and 2: gRPC message caps, no compression, timeouts and connection
// bounds on the registration listener; the same timeouts and bounds on the HTTPS listener.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect as tcpConnect } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";
import { sleep } from "../support/loopback.ts";
import {
  compressedRegisterBomb,
  grpcFrame,
  oversizeRegister,
  rawGrpcCall,
  rawGrpcSession,
} from "../support/raw-grpc.ts";

const register = "/drover.v1.RegistrationService/Register";
const getCaBundle = "/drover.v1.RegistrationService/GetCABundle";
const limits = {
  handshakeTimeoutMs: 300,
  idleTimeoutMs: 400,
  requestTimeoutMs: 300,
  connectionsPerAddress: 3,
  streamsPerConnection: 2,
};
const httpLimits = {
  handshakeTimeoutMs: 300,
  idleTimeoutMs: 400,
  connectionsPerAddress: 3,
  streamsPerConnection: 2,
};

let fleet: InProcessFleet;
let caPem: string;
let address: string;

beforeAll(async () => {
  fleet = await startInProcessFleet({
    listenerLimits: { registration: limits, http: httpLimits },
  });
  caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
  address = fleet.server.endpoints.registration;
});
afterAll(async () => {
  await fleet.stop();
});

/** Runs `use` on a fresh raw HTTP/2 session, closed afterwards. */
async function withSession<T>(
  use: (session: ReturnType<typeof rawGrpcSession>) => Promise<T>,
): Promise<T> {
  const session = rawGrpcSession(address, caPem);
  try {
    return await use(session);
  } finally {
    session.destroy();
  }
}

/** Resolves with the ms until the server closes `socket`, or rejects after `withinMs`. */
function closedAfter(socket: { once(event: "close", f: () => void): unknown }, withinMs: number) {
  const started = performance.now();
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${withinMs} ms`)), withinMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    });
  });
}

function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(":") + 1));
}

function tlsTo(hostPort: string, alpn: "h2" | "http/1.1" = "h2"): TLSSocket {
  const socket = tlsConnect({
    host: "127.0.0.1",
    port: portOf(hostPort),
    ca: caPem,
    servername: "localhost",
    ALPNProtocols: [alpn],
  });
  socket.on("error", () => {});
  // Read (and drop) what the server sends, or its close would wait behind unread data.
  socket.resume();
  return socket;
}

describe("registration messages", () => {
  test("a Register over the 16 KiB cap is refused with RESOURCE_EXHAUSTED", async () => {
    const result = await withSession((session) =>
      rawGrpcCall(session, register, grpcFrame(oversizeRegister(20 * 1024))),
    );
    expect(result.status).toBe(8);
    expect(result.message).toContain("readMaxBytes");
  });

  for (const encoding of ["br", "gzip"] as const) {
    test(`a ${encoding}-compressed Register (a bomb) is refused with UNIMPLEMENTED`, async () => {
      const bomb = await compressedRegisterBomb(encoding, 16 * 1024 * 1024);
      const result = await withSession((session) =>
        rawGrpcCall(session, register, grpcFrame(bomb, true), { "grpc-encoding": encoding }),
      );
      expect(result.status).toBe(12);
      expect(result.message).toContain(`unknown compression "${encoding}"`);
    });
  }

  test("responses are not compressed, nor compression offered, whatever the client accepts", async () => {
    const result = await withSession((session) =>
      rawGrpcCall(session, getCaBundle, grpcFrame(new Uint8Array()), {
        "grpc-accept-encoding": "gzip, br",
      }),
    );
    expect(result.status).toBe(0);
    expect(result.headers["grpc-encoding"] ?? "identity").toBe("identity");
    expect(result.headers["grpc-accept-encoding"]).toBeUndefined();
    expect(result.body[0]).toBe(0);
  });
});

describe("registration timeouts", () => {
  test("a TCP connection that never starts TLS is closed after the handshake timeout", async () => {
    const socket = tcpConnect(portOf(address), "127.0.0.1");
    socket.on("error", () => {});
    const ms = await closedAfter(socket, 3_000);
    expect(ms).toBeGreaterThan(limits.handshakeTimeoutMs - 50);
  });

  test("a TLS connection that never sends a request is closed after the idle timeout", async () => {
    const socket = tlsTo(address);
    await new Promise((resolve) => socket.once("secureConnect", resolve));
    const ms = await closedAfter(socket, 3_000);
    expect(ms).toBeGreaterThan(limits.idleTimeoutMs - 50);
  });

  test("a call whose message never comes ends with DEADLINE_EXCEEDED", async () => {
    const result = await withSession((session) =>
      Promise.race([
        rawGrpcCall(session, register, undefined),
        sleep(2_000).then(() => Promise.reject(new Error("the call was still open after 2 s"))),
      ]),
    );
    expect(result.status).toBe(4);
  });

  test("a session may hold only streamsPerConnection streams at once", async () => {
    const settings = await withSession(
      (session) =>
        new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
          session.once("remoteSettings", resolve),
        ),
    );
    expect(settings.maxConcurrentStreams).toBe(limits.streamsPerConnection);
  });
});

describe("registration connections", () => {
  test("connections past the per-address bound are closed at accept", async () => {
    // Earlier tests' connections are gone once the server has seen them close.
    await sleep(100);
    const held = Array.from({ length: limits.connectionsPerAddress }, () => tlsTo(address));
    try {
      await Promise.all(
        held.map((s) => new Promise((resolve) => s.once("secureConnect", resolve))),
      );
      const extra = tlsTo(address);
      let secured = false;
      extra.once("secureConnect", () => {
        secured = true;
      });
      await closedAfter(extra, 2_000);
      expect(secured).toBe(false);
      // A slot frees when a held connection closes.
      const first = held.shift();
      first?.destroy();
      await sleep(100);
      const next = tlsTo(address);
      held.push(next);
      await new Promise((resolve) => next.once("secureConnect", resolve));
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});

describe("the HTTPS listener", () => {
  const secured = (socket: TLSSocket) =>
    new Promise((resolve) => socket.once("secureConnect", resolve));

  test("a TCP connection that never starts TLS is closed after the handshake timeout", async () => {
    const socket = tcpConnect(portOf(fleet.server.endpoints.http), "127.0.0.1");
    socket.on("error", () => {});
    const ms = await closedAfter(socket, 3_000);
    expect(ms).toBeGreaterThan(httpLimits.handshakeTimeoutMs - 50);
  });

  test("an HTTP/2 connection that never sends a request is closed after the idle timeout", async () => {
    const socket = tlsTo(fleet.server.endpoints.http);
    await secured(socket);
    const ms = await closedAfter(socket, 3_000);
    expect(ms).toBeGreaterThan(httpLimits.idleTimeoutMs - 50);
  });

  test("an HTTP/1.1 keep-alive connection gone quiet is closed after the idle timeout", async () => {
    const socket = tlsTo(fleet.server.endpoints.http, "http/1.1");
    await secured(socket);
    const answered = new Promise((resolve) => socket.once("data", resolve));
    socket.write("GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: keep-alive\r\n\r\n");
    await answered;
    const ms = await closedAfter(socket, 3_000);
    expect(ms).toBeGreaterThan(httpLimits.idleTimeoutMs - 50);
  });

  test("connections past the per-address bound are closed at accept", async () => {
    await sleep(100);
    const held = Array.from({ length: httpLimits.connectionsPerAddress }, () =>
      tlsTo(fleet.server.endpoints.http),
    );
    try {
      await Promise.all(held.map(secured));
      const extra = tlsTo(fleet.server.endpoints.http);
      let handshook = false;
      extra.once("secureConnect", () => {
        handshook = true;
      });
      await closedAfter(extra, 2_000);
      expect(handshook).toBe(false);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});
