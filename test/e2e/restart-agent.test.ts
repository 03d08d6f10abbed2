import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Harness, type ServerProcess } from "./harness.ts";

// bunfig.toml's [test] timeout is not read by bun test; processes need more than 5 s.
setDefaultTimeout(30_000);

describe("an agent restarted from its data dir keeps its identity", () => {
  let h: Harness;
  let server: ServerProcess;

  beforeAll(async () => {
    h = await Harness.create("restart-agent");
    server = await h.startServer();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  test("stop → offline; start without --token/--server → same id, online, no new row", async () => {
    const token = await h.createToken("agent", ["--label", "zone=a"]);
    const first = h.startAgent({
      dataDir: "agent",
      server: server.endpoints.registration,
      token,
      labels: ["os=linux"],
    });
    const id = await h.agentIdOf("agent");
    // "online" is written when the stream opens, last_seen_at with each report.
    const online = await h.waitForAgent(
      id,
      "online with a health report",
      (agent) => agent.state === "online" && agent.last_seen_at !== null,
    );

    const stopped = await h.stop(first);
    expect(stopped.code).toBe(0); // SIGTERM is a clean shutdown
    const offline = await h.waitForAgentState(id, "offline");
    expect(offline.labels).toEqual({ zone: "a" });

    const second = h.startAgent({ dataDir: "agent" });
    const seenBefore = Date.parse(online.last_seen_at ?? "");
    const again = await h.waitForAgent(
      id,
      "online and reporting again",
      (agent) => agent.state === "online" && Date.parse(agent.last_seen_at ?? "") > seenBefore,
    );
    expect(second.exit()).toBeUndefined();
    expect(second.stderr()).not.toContain("joining the fleet");
    expect(again.created_at).toBe(online.created_at);
    expect(again.labels).toEqual({ zone: "a" });
    expect(await h.agentIdOf("agent")).toBe(id);
    const all = await h.listAgents();
    expect(all.map((agent) => agent.id)).toEqual([id]);
  });
});
