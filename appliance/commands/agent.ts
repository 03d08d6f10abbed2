import { isIP } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { isAbsolute } from "node:path";
import { type AgentNginxOptions, createAgent } from "../../lib/agent/index.ts";
import { parseFlags, UsageError } from "../flags.ts";
import type { Command } from "../io.ts";
import { stderrLogger } from "../output.ts";
import { labelsFromFlags } from "./token.ts";

export const agentUsage =
  "drover agent --server HOST:PORT --token TOKEN --data-dir DIR [--label k=v]... [--name NAME]\n" +
  "             [--nginx-mode managed|system|off] [--nginx-bin PATH] [--nginx-conf-dir DIR]\n" +
  "             [--nginx-status-port PORT] [--nginx-listen-address IP] [--nginx-main-conf PATH]";

/** The flags that say how the agent runs nginx, checked together. */
export function nginxOptionsFromFlags(flags: {
  "nginx-mode": string;
  "nginx-bin"?: string | undefined;
  "nginx-conf-dir"?: string | undefined;
  "nginx-status-port": string;
  "nginx-listen-address"?: string | undefined;
  "nginx-main-conf"?: string | undefined;
}): AgentNginxOptions {
  const mode = flags["nginx-mode"];
  if (mode !== "managed" && mode !== "system" && mode !== "off") {
    throw new UsageError(
      `--nginx-mode must be managed, system or off, not ${JSON.stringify(mode)}`,
    );
  }
  const confDir = flags["nginx-conf-dir"];
  if (mode === "off") {
    const given = (
      ["nginx-bin", "nginx-conf-dir", "nginx-listen-address", "nginx-main-conf"] as const
    )
      .filter((flag) => flags[flag] !== undefined)
      .map((flag) => `--${flag}`);
    if (given.length > 0)
      throw new UsageError(`${given.join(", ")}: only with --nginx-mode managed or system`);
    return { mode: "off" };
  }
  const port = Number(flags["nginx-status-port"]);
  if (!/^[0-9]+$/.test(flags["nginx-status-port"]) || port < 1 || port > 65535)
    throw new UsageError(
      `--nginx-status-port must be a port number (1-65535), not ${flags["nginx-status-port"]}`,
    );
  const bin = flags["nginx-bin"];
  if (bin !== undefined && bin === "") throw new UsageError("--nginx-bin must not be empty");
  const listenAddress = flags["nginx-listen-address"];
  if (listenAddress !== undefined && isIP(listenAddress) === 0)
    throw new UsageError(
      `--nginx-listen-address must be an IP address, not ${JSON.stringify(listenAddress)}`,
    );
  const common = {
    statusPort: port,
    ...(bin === undefined ? {} : { bin }),
    ...(listenAddress === undefined ? {} : { listenAddress }),
  };
  const mainConfig = flags["nginx-main-conf"];
  if (mode === "managed") {
    if (confDir !== undefined)
      throw new UsageError(
        "--nginx-conf-dir is for --nginx-mode system (managed nginx lives in the data dir)",
      );
    return { mode, ...common };
  }
  if (confDir === undefined || !isAbsolute(confDir))
    throw new UsageError(
      "--nginx-mode system needs --nginx-conf-dir DIR: an absolute directory the system nginx includes inside http {}",
    );
  if (mainConfig !== undefined && !isAbsolute(mainConfig))
    throw new UsageError("--nginx-main-conf must be an absolute path");
  return { mode, confDir, ...common, ...(mainConfig === undefined ? {} : { mainConfig }) };
}

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
      "nginx-mode": { kind: "string", default: "off" },
      "nginx-bin": { kind: "string" },
      "nginx-conf-dir": { kind: "string" },
      "nginx-status-port": { kind: "string", default: "18080" },
      "nginx-listen-address": { kind: "string" },
      "nginx-main-conf": { kind: "string" },
    },
    argv,
    io.env,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const nginx = nginxOptionsFromFlags(flags);
  const agent = createAgent({
    dataDir: flags["data-dir"],
    server: flags.server,
    token: flags.token,
    name: flags.name,
    hostname: hostname(),
    ip: primaryIp(),
    labels: labelsFromFlags(flags.label),
    capabilities: nginx.mode === "off" ? ["health", "files"] : ["health", "files", "nginx"],
    nginx,
    logger: stderrLogger(io.stderr),
  });
  await agent.run(io.signal);
  return 0;
};
