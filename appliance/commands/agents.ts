import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type OperatorClient, operatorClientFromDataDir } from "../../lib/client/index.ts";
import type { CommandKind, CommandOutcome } from "../../lib/delivery/index.ts";
import { DroverError } from "../../lib/errors/index.ts";
import { type Agent, AgentState } from "../../lib/gen/drover/v1/operator_pb.ts";
import { agentConfigJson, commandResultJson } from "../../lib/rest/schemas.ts";
import { parseSelector } from "../../lib/selector/index.ts";
import {
  agentConfigFromProto,
  agentStateFromProto,
  agentStateToProto,
  commandKindEnums,
  commandOutcomeFromProto,
} from "../../lib/wire/index.ts";
import { type Command, defineCommand, defineGroup } from "../command.ts";
import { onlyId, outputFlag, outputOf, UsageError } from "../flags.ts";
import type { CommandIo } from "../io.ts";
import { formatTable } from "../output.ts";
import { workspaceFromFlag } from "../workspace-flag.ts";
import { labelAgent } from "./agents-label.ts";
import { agentNodeCommands } from "./agents-node.ts";

const dataDirFlag = {
  kind: "string",
  required: true,
  value: "DIR",
  help: "the server's data dir (its admin credential and addresses)",
} as const;

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
    workspace_id: agent.workspaceId || null,
    labels: agent.labels,
    claimed_labels: agent.claimedLabels,
    capabilities: agent.capabilities,
    state: agentStateFromProto(agent.state) ?? "unknown",
    last_seen_at: agent.lastSeenAt ? timestampDate(agent.lastSeenAt).toISOString() : null,
    created_at: agent.createdAt ? timestampDate(agent.createdAt).toISOString() : null,
  };
}

const listAgents = defineCommand(
  {
    summary: "list the fleet's agents",
    flags: {
      "data-dir": dataDirFlag,
      selector: { kind: "string", value: "k=v,k2!=v2", help: "only agents whose labels match" },
      state: {
        kind: "string",
        value: "online|offline|degraded",
        help: "only agents in this state",
      },
      json: { kind: "boolean", help: "print JSON instead of a table" },
    },
    examples: ["drover agents list --data-dir ./drover-data --selector site=home"],
  },
  async ({ flags, positionals }, io) => {
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
  },
);

const deleteAgent = defineCommand(
  {
    summary: "forget an agent and revoke its certificates",
    flags: { "data-dir": dataDirFlag },
    args: "ID",
    examples: ["drover agents delete --data-dir ./drover-data ag-0123456789ab"],
  },
  async ({ flags, positionals }, io) => {
    const id = onlyId(positionals, "agent");
    const client = await operatorClientFromDataDir(flags["data-dir"]);
    await client.deleteAgent({ id });
    io.stderr(`deleted agent ${id}; its certificates are revoked\n`);
    return 0;
  },
);

const moveAgent = defineCommand(
  {
    summary: "move an agent to another workspace (fleet admins); its configuration follows",
    details:
      "The old workspace's sites and files leave the agent and the new workspace's arrive, in one delivery.",
    flags: {
      "data-dir": dataDirFlag,
      workspace: {
        kind: "string",
        required: true,
        value: "ID|SLUG",
        help: "the workspace the agent moves to",
      },
    },
    args: "ID",
    examples: ["drover agents move --data-dir ./drover-data --workspace web ag-0123456789ab"],
  },
  async ({ flags, positionals }, io) => {
    const id = onlyId(positionals, "agent");
    const client = await operatorClientFromDataDir(flags["data-dir"]);
    const workspace = await workspaceFromFlag(client, flags.workspace);
    await client.updateAgent({ id, workspaceId: workspace.id });
    io.stderr(`moved agent ${id} to workspace ${workspace.slug} (${workspace.id})\n`);
    return 0;
  },
);

/** `--data-dir DIR ID [-o json|table]`: the agent, how to print, and the admin client. */
const oneAgentFlags = { "data-dir": dataDirFlag, ...outputFlag };

async function oneAgent(flags: { "data-dir": string; output: string }, positionals: string[]) {
  const output = outputOf(flags);
  const id = onlyId(positionals, "agent");
  return { id, output, client: await operatorClientFromDataDir(flags["data-dir"]) };
}

const printJson = (io: CommandIo, value: unknown) =>
  io.stdout(`${JSON.stringify(value, null, 2)}\n`);

/** Versions are "sha256:" and a hash: 12 hex digits tell them apart in a table. */
const short = (hash: string | null) =>
  hash === null ? "-" : hash.replace(/^sha256:/, "").slice(0, 12);

/** A config version as its integer and the start of its hash: `3 (1a2b3c4d5e6f)`. */
const versionText = (version: number | null, hash: string | null) =>
  hash === null ? "-" : `${version ?? "-"} (${short(hash)})`;

const agentConfig = defineCommand(
  {
    summary:
      "the agent's configuration: desired and applied versions, the latest delivery's state and errors, each virtual host applied or set aside",
    flags: oneAgentFlags,
    args: "ID",
    examples: ["drover agents config --data-dir ./drover-data ag-0123456789ab -o json"],
  },
  async ({ flags, positionals }, io) => {
    const { id, output, client } = await oneAgent(flags, positionals);
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
      versionText(config.desired_version, config.desired_config_hash),
      versionText(config.version, config.config_hash),
      versionText(config.applied_version, config.applied_config_hash),
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
  },
);

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
    return commandOutcomeFromProto(
      await client.sendAgentCommand({ agentId: id, kind: commandKindEnums[kind] }),
    );
  } catch (error) {
    throw await notConnected(client, id, error);
  }
}

/** An nginx command: the agent's answer, its nginx status as a table; exit 1 when it failed. */
function nginxCommand(kind: CommandKind, summary: string, done?: string): Command {
  const verb = done ? "reload" : "status";
  return defineCommand(
    {
      summary,
      details: "Reaches connected agents only.",
      flags: oneAgentFlags,
      args: "ID",
      examples: [`drover agents ${verb} --data-dir ./drover-data ag-0123456789ab`],
    },
    async ({ flags, positionals }, io) => {
      const { id, output, client } = await oneAgent(flags, positionals);
      const answer = commandResultJson(kind, await sendCommand(client, id, kind), new Date());
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
    },
  );
}

export const agentsCommand = defineGroup({
  summary: "list, inspect, label, move and remove agents; their metrics, logs, commands and GPIO",
  commands: {
    list: listAgents,
    delete: deleteAgent,
    move: moveAgent,
    label: labelAgent,
    config: agentConfig,
    status: nginxCommand("get_status", "ask the agent's nginx for its status now"),
    reload: nginxCommand("reload", "reload the agent's nginx gracefully", "reloaded nginx"),
    ...agentNodeCommands,
  },
});
