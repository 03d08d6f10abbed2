// Issue 15, upgrades: an agent and a server that cannot talk refuse each other with a message
// naming both releases and who must upgrade (never a protocol error). Real server and agent in
// this process; the "older" side is this build told to serve only protocol 2 and later.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent } from "../../lib/agent/index.ts";
import { peerProtocol, refuseOlderPeer, sessionProtocol } from "../../lib/channel/index.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import type { Logger } from "../../lib/log/index.ts";
import { droverVersion } from "../../lib/version.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(30_000);

let fleet: InProcessFleet | undefined;
let dir: string | undefined;
const running: Array<{ stop: AbortController; done: Promise<void> }> = [];
afterEach(async () => {
  for (const agent of running.splice(0)) {
    agent.stop.abort();
    await agent.done;
  }
  await fleet?.stop();
  fleet = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function capturing() {
  const lines: string[] = [];
  const capture =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
  const logger: Logger = { info: capture("INFO"), warn: capture("WARN"), error: capture("ERROR") };
  return { lines, logger };
}

async function runAgent(started: InProcessFleet, logger: Logger, oldestServerProtocol?: number) {
  dir = mkdtempSync(join(tmpdir(), "drover-protocol-"));
  const { token } = await started.operator.createJoinToken({ role: Role.AGENT });
  const agent = createAgent({
    server: started.server.endpoints.registration,
    dataDir: join(dir, "agent"),
    token,
    hostname: "pi-shed",
    logger,
    ...(oldestServerProtocol === undefined ? {} : { oldestServerProtocol }),
  });
  const stop = new AbortController();
  running.push({ stop, done: agent.run(stop.signal).catch(() => {}) });
  return agent;
}

describe("a peer older than this side serves is refused, naming both releases", () => {
  test("the server refuses the agent's session before recording anything; the agent logs why", async () => {
    fleet = await startInProcessFleet({ oldestAgentProtocol: sessionProtocol + 1 });
    const { lines, logger } = capturing();
    const agent = await runAgent(fleet, logger);
    const refusal = await waitFor("the agent to log the refusal", () =>
      lines.find((line) => line.includes("serves protocol")),
    );
    expect(refusal).toContain(
      `the agent runs Drover ${droverVersion} (agent session protocol ${sessionProtocol}); this server runs Drover ${droverVersion} and serves protocol ${sessionProtocol + 1} or later: upgrade the agent to Drover ${droverVersion}`,
    );
    const id = agent.identity()?.id ?? "";
    expect(fleet.server.delivery.connected(id)).toBe(false);
    const [row] = (await fleet.operator.listAgents({})).agents.filter((a) => a.id === id);
    expect(row?.lastSeenAt).toBeUndefined();
  });

  test("the agent ends a session with a server it no longer serves, and says so", async () => {
    fleet = await startInProcessFleet();
    const { lines, logger } = capturing();
    const agent = await runAgent(fleet, logger, sessionProtocol + 1);
    const refusal = await waitFor("the agent's error line", () =>
      lines.find((line) => line.startsWith("ERROR the server runs")),
    );
    expect(refusal).toContain(
      `the server runs Drover ${droverVersion} (agent session protocol ${sessionProtocol}); this agent runs Drover ${droverVersion} and serves protocol ${sessionProtocol + 1} or later: upgrade the server to Drover ${droverVersion}`,
    );
    // It does not stay: the session closes, so the agent is not connected.
    const id = agent.identity()?.id ?? "";
    await waitFor("the session to close", () => !fleet?.server.delivery.connected(id));
    await waitFor("the agent to log the disconnect", () =>
      lines.some((line) => line.includes("disconnected; reconnecting")),
    );
  });
});

test("builds from before the field speak protocol 1; a newer peer is never refused for being newer", () => {
  expect(peerProtocol(0)).toBe(1);
  const self = { side: "server" as const, version: "0.3.0", oldest: 1 };
  expect(refuseOlderPeer(self, { version: "0.1.0", protocol: 0 })).toBeUndefined();
  expect(refuseOlderPeer(self, { version: "0.9.0", protocol: 7 })).toBeUndefined();
  expect(refuseOlderPeer({ ...self, oldest: 2 }, { version: "", protocol: 0 })?.message).toBe(
    "the agent runs an earlier Drover (agent session protocol 1); this server runs Drover 0.3.0 and serves protocol 2 or later: upgrade the agent to Drover 0.3.0",
  );
});
