import { defineCommand, defineGroup } from "../command.ts";
import { outputFlag, outputOf, UsageError } from "../flags.ts";
import { formatTable } from "../output.ts";
import { cell, type Item } from "../resources.ts";
import { listAll } from "../rest-client.ts";
import { leaseWorkspaceFlag, leaseWorkspaceId } from "./lease-workspace.ts";
import { clientFor, restAuthFlag } from "./resources.ts";

const labelsText = (value: unknown): string => {
  const pairs = Object.entries((value ?? {}) as Record<string, unknown>);
  return pairs.length === 0 ? "-" : pairs.map(([key, label]) => `${key}=${cell(label)}`).join(",");
};

const listExporters = defineCommand(
  {
    summary: "list the workspace's exporters: status, labels, holder",
    details:
      "LABELS are the operator's labels, the ones `drover lease request --selector` matches. STATUS is LeaseReady once a holder may drive the exporter.",
    flags: { ...leaseWorkspaceFlag, ...outputFlag, ...restAuthFlag },
    examples: ["drover exporters list", "drover exporters list --workspace lab -o json"],
  },
  async ({ flags, positionals }, io) => {
    const output = outputOf(flags);
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    const client = await clientFor(flags, io);
    const workspaceId = await leaseWorkspaceId(client, flags.workspace);
    const exporters = (await listAll(
      client,
      `/workspaces/${encodeURIComponent(workspaceId)}/exporters`,
      {},
    )) as Item[];
    if (output === "json") {
      io.stdout(`${JSON.stringify(exporters, null, 2)}\n`);
      return 0;
    }
    const rows = exporters.map((exporter) => [
      cell(exporter.id),
      cell(exporter.name),
      cell(exporter.status),
      exporter.online ? "yes" : "no",
      labelsText(exporter.labels),
      cell(exporter.lease_name),
      cell(exporter.client),
      Array.isArray(exporter.reports) ? String(exporter.reports.length) : "-",
    ]);
    io.stdout(
      `${formatTable(["ID", "NAME", "STATUS", "ONLINE", "LABELS", "LEASE", "CLIENT", "DRIVERS"], rows)}\n`,
    );
    return 0;
  },
);

export const exportersCommand = defineGroup({
  summary: "list the exporters: agents that share hardware for leases",
  commands: { list: listExporters },
});
