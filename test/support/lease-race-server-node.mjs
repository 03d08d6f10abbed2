// One "server" of the two-servers race under Node: opens the store given as argv[2] and runs scheduling passes.
import * as drover from "drover";
import { openNodeLab } from "./lease-node.mjs";

const [path, start] = process.argv.slice(2);
if (path === undefined || !Number.isFinite(Number(start)))
  throw new Error("usage: lease-race-node.mjs DB START_MS");
const lab = await openNodeLab(drover, path, Number(start));
// Both processes pass at about the same moment: the grant is decided by the guarded writes.
for (let i = 0; i < 20; i++) await lab.engine.reconcile();
console.log(JSON.stringify({ granted: lab.granted.length }));
await lab.close();
