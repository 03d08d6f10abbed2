import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Harness, type ServerProcess, waitFor } from "./harness.ts";

// bunfig.toml's [test] timeout is not read by bun test; processes need more than 5 s.
setDefaultTimeout(30_000);

describe("deleting an agent revokes it and cuts it off", () => {
  let h: Harness;
  let server: ServerProcess;

  beforeAll(async () => {
    h = await Harness.create("delete");
    server = await h.startServer();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  test("the running agent exits by itself, is gone from the list, and cannot come back", async () => {
    const doomedToken = await h.createToken("agent");
    const keptToken = await h.createToken("agent");
    const doomed = h.startAgent({
      dataDir: "doomed",
      server: server.endpoints.registration,
      token: doomedToken,
    });
    const kept = h.startAgent({
      dataDir: "kept",
      server: server.endpoints.registration,
      token: keptToken,
    });
    const doomedId = await h.agentIdOf("doomed");
    const keptId = await h.agentIdOf("kept");
    await h.waitForAgentState(doomedId, "online");
    await h.waitForAgentState(keptId, "online");

    const deleted = await h.runOk(["agents", "delete", "--data-dir", h.dataDir, doomedId]);
    expect(deleted.stderr).toContain(doomedId);

    const exit = await waitFor("the deleted agent to exit", () => doomed.exit());
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull(); // it stopped itself, no signal killed it
    expect(doomed.stderr()).toMatch(/refused|removed/);

    const remaining = await h.listAgents();
    expect(remaining.map((agent) => agent.id)).toEqual([keptId]);
    // The other agent was not cut off.
    expect(kept.exit()).toBeUndefined();
    expect(remaining[0]?.state).toBe("online");

    const restarted = await h.runAgent({ dataDir: "doomed" });
    expect(restarted.code).not.toBe(0);
    expect(restarted.code).not.toBeNull();
    expect(restarted.stderr).toMatch(/refused|removed|revoked/);
    expect((await h.listAgents()).map((agent) => agent.id)).toEqual([keptId]);

    const again = await h.run(["agents", "delete", "--data-dir", h.dataDir, doomedId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("not found");
  });
});
