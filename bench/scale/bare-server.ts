/**
 * The scale bench's BASELINE: `bun bench/scale/bare-server.ts CONFIG_JSON`, a
 * bare node:http2 mTLS server (the Drover server's certificate, the fleet CA,
 * requestCert + rejectUnauthorized) in its own process that accepts the
 * simulated agents' Session streams and discards their frames: it answers
 * nothing and keeps every stream open. What it costs per connection is the
 * floor any HTTP/2 mTLS server on this runtime pays.
 *
 * JSON lines: first {"ready": true, "port", "idleRss"}; then `stats` →
 * {sessions, streams, rss} (RSS after a full GC). Exits when stdin closes.
 */
import { createSecureServer, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";

export interface BareServerConfig {
  certificatePem: string;
  privateKeyPem: string;
  caPem: string;
  host: string;
}

export interface BareServerStats {
  sessions: number;
  streams: number;
  rss: number;
}

function settledRss(): number {
  Bun.gc(true);
  return process.memoryUsage.rss();
}

const [configJson] = process.argv.slice(2);
if (!configJson) {
  console.error("usage: bun bench/scale/bare-server.ts CONFIG_JSON");
  process.exit(2);
}
const config = JSON.parse(configJson) as BareServerConfig;
const sessions = new Set<Http2Session>();
let streams = 0;
const server = createSecureServer({
  cert: config.certificatePem,
  key: config.privateKeyPem,
  ca: config.caPem,
  requestCert: true,
  rejectUnauthorized: true,
  allowHTTP1: false,
});
server.on("session", (session) => {
  sessions.add(session);
  session.once("close", () => sessions.delete(session));
  session.on("error", () => undefined);
});
server.on("stream", (stream) => {
  streams += 1;
  stream.on("data", () => undefined);
  stream.on("error", () => undefined);
  stream.once("close", () => {
    streams -= 1;
  });
});
await new Promise<void>((resolve, reject) => {
  server.once("error", reject);
  server.listen(0, config.host, () => resolve());
});
const reply = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
reply({ ready: true, port: (server.address() as AddressInfo).port, idleRss: settledRss() });

for await (const line of createInterface({ input: process.stdin })) {
  const { seq, cmd } = JSON.parse(line) as { seq: number; cmd: string };
  if (cmd === "stats") {
    const stats: BareServerStats = { sessions: sessions.size, streams, rss: settledRss() };
    reply({ seq, ...stats });
  } else if (cmd === "exit") break;
}
for (const session of sessions) session.destroy();
server.close();
process.exit(0);
