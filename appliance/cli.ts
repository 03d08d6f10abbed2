import { Code, ConnectError } from "@connectrpc/connect";
import { isDroverError } from "../lib/errors/index.ts";
import { droverVersion } from "../lib/version.ts";
import { agentCommand, agentUsage } from "./commands/agent.ts";
import { agentsCommand, agentsUsage } from "./commands/agents.ts";
import { loginCommand, loginUsage } from "./commands/login.ts";
import { createCommand, deleteCommand, getCommand, resourcesUsage } from "./commands/resources.ts";
import { serverCommand, serverUsage } from "./commands/server.ts";
import { tokenCommand, tokenUsage } from "./commands/token.ts";
import { usersCommand, usersUsage } from "./commands/users.ts";
import { UsageError } from "./flags.ts";
import type { Command, CommandIo } from "./io.ts";

export const usage = `Drover ${droverVersion}: a fleet control plane in one file.

Usage:
${[
  serverUsage,
  tokenUsage,
  agentUsage,
  agentsUsage,
  usersUsage,
  loginUsage,
  resourcesUsage,
  "drover version",
]
  .map((line) => `  ${line.replaceAll("\n", "\n  ")}`)
  .join("\n")}

Every flag also reads DROVER_<FLAG> from the environment (e.g. DROVER_DATA_DIR).
`;

const commands: Record<string, Command> = {
  server: serverCommand,
  token: tokenCommand,
  agent: agentCommand,
  agents: agentsCommand,
  users: usersCommand,
  login: loginCommand,
  get: getCommand,
  create: createCommand,
  delete: deleteCommand,
  version: async (_argv, io) => {
    io.stdout(`drover ${droverVersion}\n`);
    return 0;
  },
};

function hintFor(error: ConnectError): string {
  if (error.code === Code.Unavailable)
    return "\nIs the server running, and is this its --data-dir or address?";
  return "";
}

/** Runs one command line; returns the exit code (2 for usage mistakes). */
export async function runCli(argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : commands[name];
  try {
    if (name === "help" || name === "--help" || name === "-h") {
      io.stdout(usage);
      return 0;
    }
    if (!command) throw new UsageError(name ? `unknown command: ${name}` : "no command given");
    return await command(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`error: ${error.message}\n\n${usage}`);
      return 2;
    }
    if (isDroverError(error)) {
      io.stderr(`error: ${error.message}\n`);
      return 1;
    }
    if (error instanceof ConnectError) {
      io.stderr(`error: ${Code[error.code]}: ${error.rawMessage}${hintFor(error)}\n`);
      return 1;
    }
    throw error;
  }
}
