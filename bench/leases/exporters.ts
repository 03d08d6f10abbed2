/**
 * The lease bench's exporters, all in this one process: `bun
 * bench/leases/exporters.ts CONFIG_JSON`. Each identity (registered by
 * bench/scale/sim-process.ts into the cache file) becomes a seed exporter
 * over grpc-js (test/support/jumpstarter-grpc-js.ts): Register, then a Status
 * stream that keeps it online and answers every lease change with
 * ReportStatus (LeaseReady when leased, Available when freed). Prints
 * {"ready":true,"ids":[…]} once all are registered; exits when stdin closes.
 */
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { type SeedExporter, startSeedExporter } from "../../test/support/jumpstarter-grpc-js.ts";
import type { SimIdentity } from "../scale/sim-agent.ts";
import { runPool } from "../table.ts";

export interface ExportersConfig {
  /** JSON lines of SimIdentity. */
  cacheFile: string;
  agentAddress: string;
  caPem: string;
}

const [configJson] = process.argv.slice(2);
if (!configJson) {
  console.error("usage: bun bench/leases/exporters.ts CONFIG_JSON");
  process.exit(2);
}
const config = JSON.parse(configJson) as ExportersConfig;
const identities = (await readFile(config.cacheFile, "utf8"))
  .split("\n")
  .filter((line) => line !== "")
  .map((line) => JSON.parse(line) as SimIdentity);
const exporters: SeedExporter[] = [];
const pool = await runPool(identities.length, 16, 60_000, async (index) => {
  const identity = identities[index] as SimIdentity;
  exporters.push(
    await startSeedExporter({
      address: config.agentAddress,
      caPem: config.caPem,
      certificatePem: identity.certificatePem,
      privateKeyPem: identity.privateKeyPem,
    }),
  );
});
if (pool.done < identities.length) {
  console.error(`registered ${pool.done} of ${identities.length} exporters within 60 s`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ ready: true, ids: exporters.map((e) => e.uuid) })}\n`);
// Nothing to command: the exporters live until the bench closes stdin.
for await (const _ of createInterface({ input: process.stdin })) {
  // ignored
}
for (const exporter of exporters) exporter.close();
process.exit(0);
