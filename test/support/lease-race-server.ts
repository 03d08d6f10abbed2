/** One "server" of the two-servers race: opens the store given as argv[2] and runs scheduling passes. */
import { openLab } from "./lease-fixture.ts";
import { manualTimers } from "./timers.ts";

const path = process.argv[2];
const start = Number(process.argv[3]);
if (path === undefined || !Number.isFinite(start))
  throw new Error("usage: lease-race-server.ts DB START_MS");
const lab = await openLab(path, manualTimers(start));
// Both processes start passes at about the same moment: the grant is decided by the guarded writes.
for (let i = 0; i < 20; i++) await lab.engine.reconcile();
console.log(
  JSON.stringify({ granted: lab.heard.filter((e) => e.type === "lease.granted").length }),
);
await lab.close();
