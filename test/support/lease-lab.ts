import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type AdminRest, adminRest } from "./admin-rest.ts";
import { httpsClient } from "./https-client.ts";
import {
  type InProcessAgent,
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "./in-process.ts";
import { type SeedExporter, startSeedExporter } from "./jumpstarter-grpc-js.ts";
import { waitFor } from "./loopback.ts";

/** A fleet with one exporter to lease: a joined agent, labelled by the admin, registered as a seed exporter. */
export interface LeaseLab {
  fleet: InProcessFleet;
  admin: AdminRest;
  agent: InProcessAgent;
  exporter: SeedExporter;
  /** The fleet's operator certificate over HTTPS: a second principal, a fleet-wide owner. */
  operator: ReturnType<typeof httpsClient>;
  caPem: string;
  stop(): Promise<void>;
}

export async function startLeaseLab(options: {
  /** The operator labels lease selectors match. */
  labels: Record<string, string>;
  /** What the exporter claims at Register (shown, never matched). */
  claimedLabels?: Record<string, string>;
  reports?: object[];
}): Promise<LeaseLab> {
  const fleet = await startInProcessFleet({ rateLimitPerMinute: 1_000_000 });
  const admin = await adminRest(fleet, { organization: "lab", workspace: "bench" });
  const { token } = await admin.ok(
    admin.rest("POST", `/v1/workspaces/${admin.workspaceId}/agents/tokens`, { name: "pi-1" }),
    201,
  );
  const agentDir = join(fleet.dir, "agent");
  const agent = await startInProcessAgent(fleet, {
    dataDir: agentDir,
    token: token as string,
    hostname: "pi-1",
  });
  await admin.ok(admin.rest("PATCH", `/v1/agents/${agent.id}`, { labels: options.labels }));
  const caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
  const read = (dir: string, name: string) => readFile(join(dir, name), "utf8");
  const exporter = await startSeedExporter({
    address: fleet.server.endpoints.agent,
    caPem,
    certificatePem: await read(agentDir, "agent.pem"),
    privateKeyPem: await read(agentDir, "agent.key"),
    labels: options.claimedLabels ?? {},
    reports: options.reports ?? [],
  });
  const serverDir = join(fleet.dir, "server");
  const operator = httpsClient(`https://${fleet.server.endpoints.http}`, {
    caPem,
    certificatePem: await read(serverDir, "admin.pem"),
    privateKeyPem: await read(serverDir, "admin.key"),
  });
  await waitFor("the exporter to be online and Available", async () => {
    const found = await admin.ok(admin.rest("GET", `/v1/exporters/${agent.id}`));
    return found.online === true && found.status === "Available";
  });
  return {
    fleet,
    admin,
    agent,
    exporter,
    operator,
    caPem,
    async stop() {
      exporter.close();
      await agent.stop();
      await fleet.stop();
    },
  };
}
