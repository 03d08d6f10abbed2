import { timestampDate } from "@bufbuild/protobuf/wkt";
import { operatorClientFromDataDir } from "../../lib/client/index.ts";
import { type Agent, AgentState } from "../../lib/gen/drover/v1/operator_pb.ts";
import { parseSelector } from "../../lib/selector/index.ts";
import { agentStateFromProto, agentStateToProto } from "../../lib/wire/index.ts";
import { parseFlags, UsageError } from "../flags.ts";
import type { Command } from "../io.ts";
import { formatTable } from "../output.ts";

export const agentsUsage = `drover agents list --data-dir DIR [--selector k=v] [--state online|offline|degraded] [--json]
drover agents delete --data-dir DIR ID`;

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
  const [id, ...extra] = positionals;
  if (id === undefined || extra.length > 0) throw new UsageError("give exactly one agent ID");
  const client = await operatorClientFromDataDir(flags["data-dir"]);
  await client.deleteAgent({ id });
  io.stderr(`deleted agent ${id}; its certificates are revoked\n`);
  return 0;
};

export const agentsCommand: Command = async (argv, io) => {
  const [verb, ...rest] = argv;
  if (verb === "list") return listAgents(rest, io);
  if (verb === "delete") return deleteAgent(rest, io);
  throw new UsageError(
    verb ? `unknown agents command: ${verb}` : "agents needs a command: list or delete",
  );
};
