// Issue 10, the first hour: a machine on the network joins with the printed command (a second network namespace).
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { externalAddresses } from "../../lib/net/index.ts";
import { Harness, type ServerProcess, waitFor } from "./harness.ts";
import { createNamespace, type Namespace } from "./netns.ts";
import { joinCommands } from "./printed-join.ts";

setDefaultTimeout(40_000);

let h: Harness;
let server: ServerProcess;
let namespace: Namespace | undefined;

beforeAll(async () => {
  const made = createNamespace(0);
  if (typeof made === "string") {
    console.warn(
      `network namespaces unavailable (${made}); joining from this machine's own non-loopback address instead`,
    );
  } else namespace = made;
  h = await Harness.create("network");
  // Every interface for registration and agents, as by default; started after the
  // veth exists, so the certificate carries its address.
  server = await h.startServer({
    registration: ":0",
    agent: ":0",
    operator: "127.0.0.1:0",
    http: "127.0.0.1:0",
  });
});

afterAll(async () => {
  await h?.cleanup();
  namespace?.remove();
});

test("the printed agent command, run on another host, joins over a non-loopback address", async () => {
  const banner = await waitFor("the join commands", () => joinCommands(server.stdout()));
  const remote = externalAddresses(networkInterfaces());
  if (remote.length === 0) {
    console.warn("this machine has no non-loopback address: nothing to join over");
    return;
  }
  if (namespace) expect(server.stdout()).toContain(`${namespace.hostAddress}:`);
  expect(banner.agent).not.toContain("--server 127.0.0.1:");
  // The token is made here, on the server; the agent runs there, with it.
  const made = await h.exec("bash", ["-c", `${banner.token}\nprintf %s "$TOKEN"`]);
  expect(made.code).toBe(0);
  await mkdir(h.path("there"));
  h.startShell("agent in the namespace", `${banner.agent}\n`, {
    cwd: h.path("there"),
    env: { TOKEN: made.stdout },
    ...(namespace ? { prefix: namespace.exec } : {}),
  });
  const id = await h.agentIdOf("there/agent-data");
  const online = await h.waitForAgentState(id, "online");
  // Its own address, as seen inside the namespace: it really ran there.
  if (namespace) expect(online.ip).toBe(namespace.address);
});
