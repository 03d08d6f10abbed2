import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Harness, type RunningProcess, type ServerProcess, waitFor } from "./harness.ts";

// bunfig.toml's [test] timeout is not read by bun test; processes need more than 5 s.
setDefaultTimeout(30_000);

/** Lines where the agent reports a (re)established stream; "disconnected" does not count. */
function connectedLines(agent: RunningProcess): number {
  return agent.stderr().match(/ INFO connected /g)?.length ?? 0;
}

describe("agents ride out a server restart", () => {
  let h: Harness;
  let server: ServerProcess;

  beforeAll(async () => {
    h = await Harness.create("server-restart");
    server = await h.startServer();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  test("both agents reconnect to the restarted server on the same ports, with the same ids", async () => {
    const agents: RunningProcess[] = [];
    const ids: string[] = [];
    for (const dataDir of ["one", "two"]) {
      const token = await h.createToken("agent");
      agents.push(h.startAgent({ dataDir, server: server.endpoints.registration, token }));
      ids.push(await h.agentIdOf(dataDir));
    }
    for (const id of ids) await h.waitForAgentState(id, "online");
    for (const agent of agents)
      await waitFor(`${agent.name} to log its connection`, () => connectedLines(agent) > 0);
    const connectedBefore = agents.map(connectedLines);
    const pids = agents.map((agent) => agent.pid);

    const stopped = await h.stop(server);
    expect(stopped.code).toBe(0);
    for (const agent of agents) {
      await waitFor(`${agent.name} to report reconnect attempts`, () =>
        agent.stderr().includes("reconnecting"),
      );
      expect(agent.exit()).toBeUndefined();
    }

    const restarted = await h.startServer(server.endpoints);
    expect(restarted.endpoints).toEqual(server.endpoints);
    expect(restarted.fleetId).toBe(server.fleetId);
    for (const id of ids) await h.waitForAgentState(id, "online", 20_000);

    // The same processes reconnected: each logs a new connection, none was restarted.
    for (const [index, agent] of agents.entries()) {
      const before = connectedBefore[index] ?? 0;
      await waitFor(`${agent.name} to log a new connection`, () => connectedLines(agent) > before);
      expect(agent.exit()).toBeUndefined();
      expect(agent.pid).toBe(pids[index] ?? -1);
    }
    const listed = await h.listAgents();
    expect(listed.map((agent) => agent.id).sort()).toEqual([...ids].sort());
  });
});
