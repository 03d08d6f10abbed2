import { hostname, networkInterfaces } from "node:os";
import { createAgent } from "../../lib/agent/index.ts";
import { parseFlags, UsageError } from "../flags.ts";
import type { Command } from "../io.ts";
import { stderrLogger } from "../output.ts";
import { labelsFromFlags } from "./token.ts";

export const agentUsage =
  "drover agent --server HOST:PORT --token TOKEN --data-dir DIR [--label k=v]... [--name NAME]";

/** The first non-internal IPv4 address: what an operator would ssh to. */
function primaryIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && !address.internal) return address.address;
    }
  }
  return "127.0.0.1";
}

export const agentCommand: Command = async (argv, io) => {
  const { flags, positionals } = parseFlags(
    {
      server: { kind: "string" },
      token: { kind: "string" },
      "data-dir": { kind: "string", required: true },
      label: { kind: "list" },
      name: { kind: "string" },
    },
    argv,
    io.env,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const agent = createAgent({
    dataDir: flags["data-dir"],
    server: flags.server,
    token: flags.token,
    name: flags.name,
    hostname: hostname(),
    ip: primaryIp(),
    labels: labelsFromFlags(flags.label),
    capabilities: ["health"],
    logger: stderrLogger(io.stderr),
  });
  await agent.run(io.signal);
  return 0;
};
