import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type OperatorClient, operatorClientFromDataDir } from "../../lib/client/index.ts";
import type { CommandOutcome } from "../../lib/delivery/index.ts";
import { DroverError } from "../../lib/errors/index.ts";
import { type Agent, AgentState } from "../../lib/gen/drover/v1/operator_pb.ts";
import { CommandKind } from "../../lib/gen/drover/v1/session_pb.ts";
import { agentConfigJson, commandResultJson } from "../../lib/rest/schemas.ts";
import { parseSelector } from "../../lib/selector/index.ts";
import {
  agentConfigFromProto,
  agentStateFromProto,
  agentStateToProto,
  commandOutcomeFromProto,
} from "../../lib/wire/index.ts";
import {
  expandShortFlags,
  onlyId,
  outputFlag,
  outputOf,
  parseFlags,
  UsageError,
} from "../flags.ts";
import type { Command, CommandIo } from "../io.ts";
import { formatTable } from "../output.ts";

export const agentsUsage = `drover agents list --data-dir DIR [--selector k=v] [--state online|offline|degraded] [--json]
drover agents delete --data-dir DIR ID
drover agents config|status|reload --data-dir DIR ID [-o json|table]
  config: the agent's configuration (desired and applied versions, the latest delivery's
  state and errors, each virtual host applied or set aside); status: its nginx now;
  reload: reload its nginx gracefully. status and reload reach connected agents only.
  -o json prints the REST objects.`;

const agentStates = ["online", "offline", "degraded"] as const;

function parseStateFlag(value: string | undefined): AgentState {
  if (value === undefined) return AgentState.UNSPECIFIED;
  const state = agentStates.find((name) => name === value);
  if (!state) throw new UsageError("--state must be online, offline or degraded");
  return agentStateToProto(state);
}

/** The JSON shape `--json` prints: plain fields, RFC 3339 times, state by name. */
function agentJson(agent: Agent) {
  return {
    id: agent.id,
    name: agent.name,
    hostname: agent.hostname,
    ip: agent.ip,
    version: agent.version,
    labels: agent.labels,
    claimed_labels: agent.claimedLabels,
    capabilities: agent.capabilities,
    state: agentStateFromProto(agent.state) ?? "unknown",
    last_seen_at: agent.lastSeenAt ? timestampDate(agent.lastSeenAt).toISOString() : null,
    created_at: agent.createdAt ? timestampDate(agent.createdAt).toISOString() : null,
  };
}

const listAgents: Command = async (argv, io) => {
  const { flags, positionals } = parseFlags(
    {
      "data-dir": { kind: "string", required: true },
      selector: { kind: "string" },
      state: { kind: "string" },
      json: { kind: "boolean" },
    },
    argv,
    io.env,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const state = parseStateFlag(flags.state);
  try {
    parseSelector(flags.selector ?? "");
  } catch (error) {
    throw new UsageError(`--selector: ${(error as Error).message}`);
  }
  const client = await operatorClientFromDataDir(flags["data-dir"]);
  const agents: Agent[] = [];
  let pageToken = "";
  do {
    const page = await client.listAgents({
      selector: flags.selector ?? "",
      state,
      pageSize: 1000,
      pageToken,
    });
    agents.push(...page.agents);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  if (flags.json) {
    io.stdout(`${JSON.stringify(agents.map(agentJson), null, 2)}\n`);
    return 0;
  }
  const rows = agents.map((agent) => {
    const json = agentJson(agent);
    const labels = Object.entries(agent.labels).map(([key, value]) => `${key}=${value}`);
    return [
      json.id,
      json.name,
      json.state,
      json.hostname,
      json.ip,
      json.version,
      labels.join(","),
      json.last_seen_at ?? "never",
    ];
  });
  io.stdout(
    `${formatTable(["ID", "NAME", "STATE", "HOSTNAME", "IP", "VERSION", "LABELS", "LAST SEEN"], rows)}\n`,
  );
  return 0;
};

const deleteAgent: Command = async (argv, io) => {
  const { flags, positionals } = parseFlags(
    { "data-dir": { kind: "string", required: true } },
    argv,
    io.env,
  );
  const id = onlyId(positionals, "agent");
  const client = await operatorClientFromDataDir(flags["data-dir"]);
  await client.deleteAgent({ id });
  io.stderr(`deleted agent ${id}; its certificates are revoked\n`);
  return 0;
};

/** `--data-dir DIR ID [-o json|table]`: the agent, how to print, and the admin client. */
async function oneAgent(argv: string[], io: CommandIo) {
  const { flags, positionals } = parseFlags(
    { "data-dir": { kind: "string", required: true }, ...outputFlag },
    expandShortFlags(argv),
    io.env,
  );
  const output = outputOf(flags);
  const id = onlyId(positionals, "agent");
  return { id, output, client: await operatorClientFromDataDir(flags["data-dir"]) };
}

const printJson = (io: CommandIo, value: unknown) =>
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);

/** Versions are "sha256:" and a hash: 12 hex digits tell them apart in a table. */
const short = (version: string | null) =>
  version === null ? "-" : version.replace(/^sha256:/, "").slice(0, 12);

const agentConfig: Command = async (argv, io) => {
  const { id, output, client } = await oneAgent(argv, io);
  const { status } = await client.getAgentConfig({ agentId: id });
  if (!status) throw new DroverError("internal", "the server answered without a status");
  const config = agentConfigJson(id, agentConfigFromProto(status));
  if (output === "json") {
    printJson(io, config);
    return 0;
  }
  const header = ["AGENT", "STATE", "DESIRED", "VERSION", "APPLIED", "APPLIED AT", "UPDATED"];
  const row = [
    config.agent_id,
    config.state,
    short(config.desired_version),
    short(config.version),
    short(config.applied_version),
    config.applied_at ?? "never",
    config.updated_at ?? "never",
  ];
  const sections = [formatTable(header, [row])];
  if (config.errors.length > 0) sections.push(`ERRORS\n${config.errors.join("\n")}`);
  if (config.virtual_hosts.length > 0) {
    const hosts = config.virtual_hosts.map((host) => [
      host.id,
      host.status,
      [host.field, host.reason].filter(Boolean).join(": "),
    ]);
    sections.push(formatTable(["VIRTUAL HOST", "STATUS", "REASON"], hosts));
  }
  io.stdout(`${sections.join("\n\n")}\n`);
  if (config.updated_at === null) {
    io.stderr(`agent ${id} has had no session yet: it gets its configuration when it connects\n`);
  }
  return 0;
};

/**
 * Unavailable is also what an unreachable server gives; when the server
 * answers for the agent, it is the agent that is not connected: say so, and
 * what to do about it.
 */
async function notConnected(client: OperatorClient, id: string, error: unknown): Promise<unknown> {
  const refused = ConnectError.from(error);
  if (refused.code !== Code.Unavailable) return error;
  const agent = await client.getAgent({ id }).then(
    (reply) => reply.agent,
    () => undefined,
  );
  if (!agent) return error;
  const { state, last_seen_at } = agentJson(agent);
  const where = agent.hostname === "" ? "its machine" : agent.hostname;
  return new DroverError(
    "unavailable",
    `${refused.rawMessage} (state ${state}, last seen ${last_seen_at ?? "never"}).\n` +
      `Start \`drover agent\` on ${where}, or mend its connection to the server; ` +
      "once `drover agents list` shows it online, run this again.",
  );
}

async function sendCommand(
  client: OperatorClient,
  id: string,
  kind: CommandKind,
): Promise<Omit<CommandOutcome, "id">> {
  try {
    return commandOutcomeFromProto(await client.sendAgentCommand({ agentId: id, kind }));
  } catch (error) {
    throw await notConnected(client, id, error);
  }
}

/** An nginx command: the agent's answer, its nginx status as a table; exit 1 when it failed. */
function nginxCommand(kind: CommandKind, done?: string): Command {
  return async (argv, io) => {
    const { id, output, client } = await oneAgent(argv, io);
    const answer = commandResultJson(await sendCommand(client, id, kind));
    if (output === "json") printJson(io, answer);
    else if (answer.nginx) {
      const n = answer.nginx;
      const header = ["RUNNING", "PID", "UPTIME", "CONNECTIONS", "REQUESTS", "REQ/S", "CONFIG"];
      const row = [
        n.running ? "yes" : "no",
        n.pid === null ? "-" : String(n.pid),
        `${Math.round(n.uptime_seconds)}s`,
        String(n.active_connections),
        String(n.requests_total),
        n.requests_per_second.toFixed(1),
        short(n.config_version),
      ];
      io.stdout(`${formatTable(header, [row])}\n`);
    }
    if (!answer.ok) {
      const errors = answer.errors.length > 0 ? answer.errors : ["the command failed"];
      io.stderr(errors.map((line) => `error: agent ${id}: ${line}\n`).join(""));
      return 1;
    }
    if (done) io.stderr(`${done} on agent ${id}\n`);
    return 0;
  };
}

const agentsCommands: Record<string, Command> = {
  list: listAgents,
  delete: deleteAgent,
  config: agentConfig,
  status: nginxCommand(CommandKind.GET_STATUS),
  reload: nginxCommand(CommandKind.RELOAD, "reloaded nginx"),
};

export const agentsCommand: Command = async (argv, io) => {
  const [verb, ...rest] = argv;
  const command =
    verb !== undefined && Object.hasOwn(agentsCommands, verb) ? agentsCommands[verb] : undefined;
  if (command) return command(rest, io);
  const verbs = Object.keys(agentsCommands).join(", ");
  throw new UsageError(
    verb ? `unknown agents command: ${verb}` : `agents needs a command: ${verbs}`,
  );
};
