// Audit issue 9, items 1 and 2: oversize WebSocket frames (Bun and Node), subscribe floods, bounded replays.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { connectEventSocket } from "../support/event-socket-client.ts";
import { httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;
const seeded = 12_000;
let fleet: InProcessFleet;
let caPem: string;
let call: ReturnType<typeof httpsClient>;
let token: string;

/** Logs in as the first admin of the server at `http` and returns the access token. */
async function adminToken(
  client: ReturnType<typeof httpsClient>,
  admin: { email: string; password: string },
): Promise<string> {
  const { email, password } = admin;
  const login = await client("POST", "/v1/auth/login", { body: { email, password } });
  expect(login.status).toBe(200);
  return (login.body as Json).access_token as string;
}

/** How long /healthz takes to answer, in ms. */
async function healthzMs(client: ReturnType<typeof httpsClient>): Promise<number> {
  const started = performance.now();
  expect((await client("GET", "/healthz")).status).toBe(200);
  return performance.now() - started;
}

beforeAll(async () => {
  fleet = await startInProcessFleet();
  caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
  call = httpsClient(`https://${fleet.server.endpoints.http}`, { caPem });
  token = await adminToken(call, fleet.server.firstAdmin as { email: string; password: string });
  // A store with history: what `after: 0` replays.
  await fleet.server.fleet.deps.store.transaction(async (tx) => {
    for (let i = 0; i < seeded; i++)
      await tx.events.append({ type: "test.seeded", subjectId: `s${i}`, data: {}, at: new Date() });
  });
});
afterAll(() => fleet.stop());

describe("a frame over 64 KiB", () => {
  test("closes the socket with 1009 and the server still answers (Bun)", async () => {
    const socket = await connectEventSocket(fleet.server.endpoints.http, caPem, token);
    socket.ws.send(Buffer.alloc(100 * 1024, "x"));
    expect((await socket.closed).code).toBe(1009);
    expect(await healthzMs(call)).toBeLessThan(2_000);
    const again = await connectEventSocket(fleet.server.endpoints.http, caPem, token);
    again.send({ action: "unsubscribe" });
    await again.next((m) => m.type === "unsubscribed", "the second socket's answer");
    again.ws.close();
  });

  // The built library in a process of its own runtime: ws's unhandled 'error' ended Node's.
  const runtimes = [
    { name: "Node", command: "node", args: [] },
    {
      name: "Deno",
      command: join(import.meta.dir, "../../node_modules/.bin/deno"),
      args: ["run", "-A"],
    },
  ];
  for (const runtime of runtimes)
    test(`closes the socket with 1009 and the process lives on (the built library under ${runtime.name})`, async () => {
      const child: ChildProcess = spawn(
        runtime.command,
        [...runtime.args, join(import.meta.dir, "fixtures", "library-event-server.mjs")],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      try {
        const [line] = (await once(
          createInterface({ input: child.stdout as NodeJS.ReadableStream }),
          "line",
        )) as [string];
        const started = JSON.parse(line) as {
          http: string;
          caPem: string;
          admin: { email: string; password: string };
        };
        const client = httpsClient(`https://${started.http}`, { caPem: started.caPem });
        const socket = await connectEventSocket(
          started.http,
          started.caPem,
          await adminToken(client, started.admin),
        );
        socket.ws.send(Buffer.alloc(100 * 1024, "x"));
        expect((await socket.closed).code).toBe(1009);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(child.exitCode).toBeNull();
        expect(await healthzMs(client)).toBeLessThan(2_000);
      } finally {
        if (child.exitCode === null) {
          child.kill("SIGTERM");
          await once(child, "exit");
        }
      }
    });
});

test("a subscribe flood is refused and closed (1008) while /healthz stays fast", async () => {
  const sockets = await Promise.all(
    Array.from({ length: 5 }, () => connectEventSocket(fleet.server.endpoints.http, caPem, token)),
  );
  for (const socket of sockets)
    for (let i = 0; i < 2_000; i++) socket.send({ action: "subscribe", events: ["*"], after: 0 });
  const latencies = [];
  for (let i = 0; i < 5; i++) latencies.push(await healthzMs(call));
  const closes = await Promise.all(sockets.map((socket) => socket.closed));
  expect(closes.map((close) => close.code)).toEqual([1008, 1008, 1008, 1008, 1008]);
  for (const socket of sockets) {
    const refused = socket.messages.filter(
      (m) => (m.error as Json | undefined)?.code === "RATE_LIMITED",
    );
    expect(refused.length).toBeGreaterThan(0);
    // At most the burst was answered: the rest were refused or never read.
    expect(socket.messages.filter((m) => m.type === "subscribed").length).toBeLessThanOrEqual(10);
  }
  expect(Math.max(...latencies)).toBeLessThan(1_000);
});

test("a replay reads at most 10,000 events, then says where to resume", async () => {
  const socket = await connectEventSocket(fleet.server.endpoints.http, caPem, token);
  socket.send({ action: "subscribe", events: ["test.*"], after: 0 });
  const limit = await socket.next((m) => m.type === "replay_limit", "the replay limit");
  const replayed = socket.messages.filter((m) => m.type === "test.seeded");
  // 10,000 stored events were read; the first few of them were not test events.
  expect(replayed.length).toBeGreaterThan(9_900);
  expect(replayed.length).toBeLessThanOrEqual(10_000);
  expect(limit.resume_after).toBe(replayed.at(-1)?.seq);
  socket.send({ action: "subscribe", events: ["test.*"], after: limit.resume_after as number });
  await socket.next((m) => m.subject_id === `s${seeded - 1}`, "the rest of the replay");
  const all = socket.messages.filter((m) => m.type === "test.seeded");
  expect(all.length).toBe(seeded);
  expect(new Set(all.map((m) => m.seq)).size).toBe(seeded);
  socket.ws.close();
});
