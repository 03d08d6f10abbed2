import { operatorClientFromDataDir } from "../../lib/client/index.ts";
import { DroverError } from "../../lib/errors/index.ts";
import { defineCommand } from "../command.ts";
import { onlyId, UsageError } from "../flags.ts";
import { labelsFromFlags } from "./token.ts";

/**
 * `drover agents label`: the labels selectors match, set after the join (a
 * token without labels, as the printed join command makes, leaves none).
 */
export const labelAgent = defineCommand(
  {
    summary: "add, change or remove an agent's labels (what selectors and target_agents match)",
    details: "Labels not named stay as they are. The agent's configuration follows the new labels.",
    flags: {
      "data-dir": {
        kind: "string",
        required: true,
        value: "DIR",
        help: "the server's data dir (its admin credential and addresses)",
      },
      label: { kind: "list", value: "k=v", help: "a label to add or change" },
      remove: { kind: "list", value: "KEY", help: "a label to remove" },
    },
    args: "ID",
    examples: ["drover agents label --data-dir ./drover-data ag-0123456789ab --label site=garage"],
  },
  async ({ flags, positionals }, io) => {
    const id = onlyId(positionals, "agent");
    const added = labelsFromFlags(flags.label);
    if (flags.label.length === 0 && flags.remove.length === 0)
      throw new UsageError("give --label k=v or --remove KEY");
    const client = await operatorClientFromDataDir(flags["data-dir"]);
    const { agent } = await client.getAgent({ id });
    if (!agent) throw new DroverError("internal", "the server answered without the agent");
    const labels = { ...agent.labels, ...added };
    for (const key of flags.remove) delete labels[key];
    const updated = await client.updateAgent({ id, labels: { values: labels } });
    const shown = Object.entries(updated.agent?.labels ?? labels).map(([k, v]) => `${k}=${v}`);
    io.stderr(`agent ${id} labels: ${shown.length === 0 ? "none" : shown.join(",")}\n`);
    return 0;
  },
);
