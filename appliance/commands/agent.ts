import { stat } from "node:fs/promises";
import { isIP } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { resolve } from "node:path";
import { type AgentNginxOptions, createAgent } from "../../lib/agent/index.ts";
import { loadAgentNodeConfig } from "../../lib/agent/node/index.ts";
import { checkExporterLines, loadExporterConfig } from "../../lib/exporter/index.ts";
import { externalAddresses } from "../../lib/net/index.ts";
import { emptyAgentNodeConfig } from "../../lib/node/index.ts";
import { type CommandHelp, defineCommand } from "../command.ts";
import { deploymentMode, systemProbe } from "../deployment-mode.ts";
import { type FlagSpec, UsageError } from "../flags.ts";
import { stderrLogger } from "../output.ts";
import { labelsFromFlags } from "./token.ts";

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
  const given = flags["nginx-bin"];
  if (given === "") throw new UsageError("--nginx-bin must not be empty");
  // A bare name is looked up on PATH; a path is relative to the working directory.
  const bin = given?.includes("/") ? resolve(given) : given;
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
  if (confDir === undefined)
    throw new UsageError(
      "--nginx-mode system needs --nginx-conf-dir DIR: the directory the system nginx includes inside http {}",
    );
  // Relative paths mean the working directory, as in any command; the core takes absolute ones.
  return {
    mode,
    confDir: resolve(confDir),
    ...common,
    ...(mainConfig === undefined ? {} : { mainConfig: resolve(mainConfig) }),
  };
}

/** The first non-loopback address, IPv4 first: what an operator would ssh to. */
function primaryIp(): string {
  return externalAddresses(networkInterfaces())[0] ?? "127.0.0.1";
}

/**
 * --data-dir as an absolute path, checked before a token is spent: it must be
 * a directory or not exist yet (the join creates it).
 */
async function agentDataDir(given: string): Promise<string> {
  const dataDir = resolve(given);
  const found = await stat(dataDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw new UsageError(`--data-dir ${given}: ${error.message}`);
  });
  if (found !== undefined && !found.isDirectory())
    throw new UsageError(`--data-dir ${given} is not a directory`);
  return dataDir;
}

export const agentHelp = {
  summary: "join this machine to the fleet (first run), then keep it connected and configured",
  details:
    "The first run joins with --server and --token and keeps the identity in --data-dir;\n" +
    "later runs need only --data-dir. A failed join spends no token.",
  flags: {
    server: {
      kind: "string",
      value: "HOST:PORT",
      help: "the server's registration address, as drover server prints it (port 8440 by default)",
    },
    token: { kind: "string", value: "TOKEN", help: "a join token from drover token create" },
    "data-dir": {
      kind: "string",
      value: "DIR",
      required: true,
      help: "where the agent keeps its identity, files and nginx state",
    },
    label: { kind: "list", value: "k=v", help: "a label this machine claims for itself" },
    name: { kind: "string", value: "NAME", help: "the agent's name (default: the token's)" },
    "deployment-mode": {
      kind: "string",
      value: "MODE",
      help: "standalone, docker_sidecar or kubernetes_sidecar, reported at join (default: detected)",
    },
    "nginx-mode": {
      kind: "string",
      value: "managed|system|off",
      default: "off",
      help: "run an nginx of its own, drive the system's nginx, or none",
    },
    "nginx-bin": {
      kind: "string",
      value: "PATH",
      help: "the nginx binary (default: nginx on PATH, then /usr/sbin/nginx)",
    },
    "nginx-conf-dir": {
      kind: "string",
      value: "DIR",
      help: "system mode: the directory the system nginx includes inside http {}",
    },
    "nginx-status-port": {
      kind: "string",
      value: "PORT",
      default: "18080",
      help: "the port of nginx's status page on 127.0.0.1",
    },
    "nginx-listen-address": {
      kind: "string",
      value: "IP",
      help: "the address sites listen on (default: every address)",
    },
    "nginx-main-conf": {
      kind: "string",
      value: "PATH",
      help: "system mode: the main nginx.conf (default: the one nginx -V names)",
    },
    config: {
      kind: "string",
      value: "FILE",
      help: "this machine's own rules (JSON or YAML): the commands, log files and GPIO lines operators may use; nothing else can run",
    },
    "static-root": {
      kind: "list",
      value: "DIR",
      help: "a directory nginx may serve static files from (a location's root must lie inside one; never the data dir)",
    },
    exporter: {
      kind: "string",
      value: "FILE",
      help: "make this machine an exporter: the drivers it offers for lease and the hooks around a lease (JSON or YAML)",
    },
  },
  examples: [
    'drover agent --server 192.168.1.10:8440 --token "$TOKEN" --data-dir ./agent-data',
    "drover agent --data-dir ./agent-data --nginx-mode managed",
    "drover agent --data-dir ./agent-data --config /etc/drover/agent.json",
    "drover agent --data-dir ./agent-data --exporter /etc/drover/exporter.yaml",
  ],
} satisfies CommandHelp<FlagSpec>;

export const agentCommand = defineCommand(agentHelp, async ({ flags, positionals }, io) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const nginx = nginxOptionsFromFlags(flags);
  const mode = deploymentMode(flags["deployment-mode"], systemProbe(io.env));
  // Read and checked before anything joins or runs: an error names the file and the field.
  const nodeConfig =
    flags.config === undefined ? undefined : await loadAgentNodeConfig(resolve(flags.config));
  const exporterPath = flags.exporter === undefined ? undefined : resolve(flags.exporter);
  const exporter = exporterPath === undefined ? undefined : await loadExporterConfig(exporterPath);
  // A GPIO line the exporter drives must be one the machine's --config declares.
  if (exporter && exporterPath)
    checkExporterLines(exporter, nodeConfig ?? emptyAgentNodeConfig, exporterPath);
  const agent = createAgent({
    dataDir: await agentDataDir(flags["data-dir"]),
    server: flags.server,
    token: flags.token,
    name: flags.name,
    hostname: hostname(),
    ip: primaryIp(),
    labels: labelsFromFlags(flags.label),
    capabilities: nginx.mode === "off" ? ["health", "files"] : ["health", "files", "nginx"],
    deploymentMode: mode,
    staticRoots: flags["static-root"],
    nginx,
    ...(exporter === undefined ? {} : { exporter }),
    ...(nodeConfig === undefined
      ? {}
      : {
          node: {
            config: nodeConfig,
            ...(io.env.PATH === undefined ? {} : { toolPath: io.env.PATH }),
          },
        }),
    logger: stderrLogger(io.stderr),
  });
  await agent.run(io.signal);
  return 0;
});
