// Embedding Drover in a plain Node program: an in-process control plane, a
// join token, and an in-process agent that joins it over real mTLS.
// Run from the repository after `npm run build:lib`:  node examples/embed-node/main.mjs
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent, startDroverServer } from "drover";

const dir = mkdtempSync(join(tmpdir(), "drover-embed-"));
try {
  // First start creates the fleet CA (ECDSA P-256) and the admin credential in dataDir.
  const server = await startDroverServer({
    dataDir: join(dir, "server"),
    registrationAddress: "127.0.0.1:0",
    agentAddress: "127.0.0.1:0",
    operatorAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    heartbeatIntervalMs: 500,
  });
  const { fleet } = server;

  // The same operation `drover token create` performs over the operator service.
  const { token } = await fleet.createJoinToken({ role: "agent", labels: { site: "example" } });

  const agent = createAgent({
    dataDir: join(dir, "agent"),
    server: server.endpoints.registration,
    token,
    hostname: "embedded-agent",
  });
  const stopAgent = new AbortController();
  const running = agent.run(stopAgent.signal);

  // Wait until the agent has joined and its first health report made it online.
  let online;
  for (let attempt = 0; attempt < 100 && !online; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { agents } = await fleet.listAgents({ state: "online" });
    online = agents[0];
  }
  if (!online) throw new Error("the agent did not come online within 10 s");

  console.log(
    JSON.stringify({
      fleetId: fleet.deps.authority.ca.fleetId,
      caHash: fleet.deps.authority.ca.publicKeyHash,
      agent: { id: online.id, state: online.state, labels: online.labels },
    }),
  );
  stopAgent.abort();
  await running;
  await server.stop();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
