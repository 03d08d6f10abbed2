// Safe by default: stopping a server twice (two shutdown paths at once, or again later) is one stop; nothing touches the closed store.
import { expect, test } from "bun:test";
import { startDroverServer } from "../../lib/server/index.ts";
import { startInProcessFleet } from "../support/in-process.ts";

test("stop() called twice at once and once more later resolves every time, and the data dir is free after", async () => {
  const fleet = await startInProcessFleet();
  const { server } = fleet;
  const first = server.stop();
  const second = server.stop();
  expect(second).toBe(first);
  await Promise.all([first, second]);
  await server.stop();
  // The lock is released: the same data dir serves again.
  const again = await startDroverServer({
    dataDir: `${fleet.dir}/server`,
    registrationAddress: "127.0.0.1:0",
    agentAddress: "127.0.0.1:0",
    operatorAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
  });
  expect(again.fleet.deps.authority.ca.fleetId).toBe(server.fleet.deps.authority.ca.fleetId);
  fleet.server = again;
  await fleet.stop();
});
