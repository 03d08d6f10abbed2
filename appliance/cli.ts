import { Code, ConnectError } from "@connectrpc/connect";
import { type DroverError, isDroverError } from "../lib/errors/index.ts";
import { droverVersion } from "../lib/version.ts";
import { type Command, defineGroup } from "./command.ts";
import { agentCommand } from "./commands/agent.ts";
import { agentsCommand } from "./commands/agents.ts";
import { exportersCommand } from "./commands/exporters.ts";
import { leaseCommand } from "./commands/lease.ts";
import { loginCommand } from "./commands/login.ts";
import { createCommand, deleteCommand, getCommand } from "./commands/resources.ts";
import { serverCommand } from "./commands/server.ts";
import { serviceCommand } from "./commands/service.ts";
import { tokenCommand } from "./commands/token.ts";
import { usersCommand } from "./commands/users.ts";
import { versionCommand } from "./commands/version.ts";
import { UsageError } from "./flags.ts";
import type { CommandIo } from "./io.ts";

/** Every command, in the order `drover --help` lists them. */
export const drover: Command = defineGroup({
  summary: `Drover ${droverVersion}, a fleet control plane in one file`,
  commands: {
    server: serverCommand,
    token: tokenCommand,
    agent: agentCommand,
    agents: agentsCommand,
    exporters: exportersCommand,
    lease: leaseCommand,
    users: usersCommand,
    login: loginCommand,
    get: getCommand,
    create: createCommand,
    delete: deleteCommand,
    service: serviceCommand,
    version: versionCommand,
  },
  synopsis: (path) => `${path} COMMAND [FLAGS] [ARGS]`,
  details: "Every flag also reads DROVER_<FLAG> from the environment (e.g. DROVER_DATA_DIR).",
});

/**
 * Option fields of lib/ whose values come from one flag, so that an error about
 * the field names the flag to fix. The files root and nginx prefix live in the
 * agent's data dir.
 */
const flagOfField: Record<string, string> = {
  dataDir: "data-dir",
  root: "data-dir",
  prefix: "data-dir",
  stateDir: "data-dir",
  server: "server",
  "registration address": "registration-addr",
  "agent address": "agent-addr",
  "operator address": "operator-addr",
  "http address": "http-addr",
  confDir: "nginx-conf-dir",
  mainConfig: "nginx-main-conf",
  statusPort: "nginx-status-port",
};

/** `--data-dir must be …` when the error is about one field that came from a flag. */
function messageOf(error: DroverError): string {
  const [only, ...more] = error.details;
  const flag = only && more.length === 0 ? flagOfField[only.field] : undefined;
  return flag === undefined ? error.message : `--${flag} ${only?.message}`;
}

function hintFor(error: ConnectError): string {
  if (error.code === Code.Unavailable)
    return "\nIs the server running, and is this its --data-dir or address?";
  return "";
}

/** `drover help token create` is `drover token create --help`. */
function helpToFlag(argv: string[]): string[] {
  return argv[0] === "help" ? [...argv.slice(1), "--help"] : argv;
}

/** Runs one command line; returns the exit code (2 for usage mistakes). */
export async function runCli(argv: string[], io: CommandIo): Promise<number> {
  try {
    return await drover.run("drover", helpToFlag(argv), io);
  } catch (error) {
    if (error instanceof UsageError) {
      const command = error.command ?? "drover";
      io.stderr(
        `error: ${error.message}\n\nUsage:\n  ${(error.usage ?? drover.usage(command)).replaceAll("\n", "\n  ")}\n` +
          `Run \`${command} --help\` for more.\n`,
      );
      return 2;
    }
    if (isDroverError(error)) {
      io.stderr(`error: ${messageOf(error)}\n`);
      return 1;
    }
    if (error instanceof ConnectError) {
      io.stderr(`error: ${Code[error.code]}: ${error.rawMessage}${hintFor(error)}\n`);
      return 1;
    }
    throw error;
  }
}
