// One loop for Bun (over lib/) and Node (over dist/lib): a server started and
// stopped again and again while an agent is connected, joining or reconnecting,
// and while a client holds a connection that never finishes its TLS handshake.
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function within(ms, what, promise) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function until(what, check) {
  for (let attempt = 0; attempt < 400; attempt++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${what}: not so within 10 s`);
}

/** Opens a TCP connection to HOST:PORT and sends nothing: a TLS handshake that never ends. */
function silentConnection(address) {
  const colon = address.lastIndexOf(":");
  const socket = connect(Number(address.slice(colon + 1)), address.slice(0, colon));
  socket.on("error", () => {});
  return socket;
}

/**
 * Runs `rounds` start/stop cycles and resolves with the slowest stop in ms;
 * rejects when a stop takes longer than `stopDeadlineMs`. Even rounds stop
 * with the agent's session open, odd rounds while it is still joining or
 * connecting (the connection's handshake straddles the stop).
 */
export async function startStopLoop({ startDroverServer, createAgent }, options) {
  const { rounds, stopDeadlineMs } = options;
  const dir = mkdtempSync(join(tmpdir(), "drover-stop-loop-"));
  // Later starts reuse the ports the first one picked, so the agent's stored
  // addresses stay right and it reconnects without joining again.
  const addresses = {
    registrationAddress: "127.0.0.1:0",
    agentAddress: "127.0.0.1:0",
    operatorAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
  };
  let token;
  let slowestStopMs = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      const server = await startDroverServer({
        dataDir: join(dir, "server"),
        heartbeatIntervalMs: 200,
        ...addresses,
      });
      if (round === 0) {
        addresses.registrationAddress = server.endpoints.registration;
        addresses.agentAddress = server.endpoints.agent;
        addresses.operatorAddress = server.endpoints.operator;
        addresses.httpAddress = server.endpoints.http;
        ({ token } = await server.fleet.createJoinToken({ role: "agent", labels: {} }));
      }
      const agent = createAgent({
        dataDir: join(dir, "agent"),
        server: server.endpoints.registration,
        token,
        hostname: "stop-loop",
      });
      const running = new AbortController();
      const done = agent.run(running.signal).catch(() => {});
      if (round % 2 === 0) {
        await until(`round ${round}: the agent's session`, () => {
          const id = agent.identity()?.id;
          return id !== undefined && server.delivery.connected(id);
        });
      } else {
        await new Promise((resolve) => setTimeout(resolve, (round * 7) % 60));
      }
      const silent = Object.values(server.endpoints).map(silentConnection);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const started = performance.now();
      await within(stopDeadlineMs, `round ${round}: server.stop()`, server.stop());
      slowestStopMs = Math.max(slowestStopMs, performance.now() - started);
      for (const socket of silent) socket.destroy();
      running.abort();
      await within(stopDeadlineMs, `round ${round}: the agent's stop`, done);
    }
    return slowestStopMs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
