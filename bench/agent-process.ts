/**
 * A real agent in its own process, for bench/agent-calls.ts:
 * `bun bench/agent-process.ts DATA_DIR REGISTRATION_ADDRESS CONFIG_FILE`, with the
 * join token in DROVER_BENCH_JOIN_TOKEN (not in argv, which `ps` shows).
 * Prints "ready <agentId>" once its identity exists; stops on SIGTERM, or when
 * its stdin closes (the bench process died), so it is never left behind.
 */
import "reflect-metadata";
import { hostname } from "node:os";
import { createAgent } from "../lib/agent/index.ts";
import { loadAgentNodeConfig } from "../lib/agent/node/index.ts";

const [dataDir, server, configFile] = process.argv.slice(2);
const token = process.env.DROVER_BENCH_JOIN_TOKEN;
if (!dataDir || !server || !configFile || !token) {
  console.error(
    "usage: DROVER_BENCH_JOIN_TOKEN=… bun bench/agent-process.ts DATA_DIR REGISTRATION_ADDRESS CONFIG_FILE",
  );
  process.exit(2);
}

const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());
process.once("SIGINT", () => stop.abort());
process.stdin.on("end", () => stop.abort());
process.stdin.resume();

const agent = createAgent({
  dataDir,
  server,
  token,
  hostname: hostname(),
  node: { config: await loadAgentNodeConfig(configFile) },
});
const running = agent.run(stop.signal);

// The identity exists once the join succeeded; the parent then waits for the session.
const announce = setInterval(() => {
  const id = agent.identity()?.id;
  if (id === undefined) return;
  clearInterval(announce);
  process.stdout.write(`ready ${id}\n`);
}, 10);

try {
  await running;
  process.exit(0);
} catch (error) {
  console.error("agent failed:", error);
  process.exit(1);
} finally {
  clearInterval(announce);
}
