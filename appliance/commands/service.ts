import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Command, defineCommand, defineGroup } from "../command.ts";
import { type FlagSpec, UsageError } from "../flags.ts";
import type { CommandIo } from "../io.ts";
import { groupsOf, installService, targetSystem, uninstallService } from "../service/install.ts";
import {
  defaultDataDirs,
  type GivenFlags,
  planService,
  type ServiceKind,
  servicePaths,
} from "../service/plan.ts";
import { renderUnit } from "../service/unit.ts";
import { agentHelp, nginxOptionsFromFlags } from "./agent.ts";
import { serverHelp } from "./server.ts";

const defaultBinary = "/usr/local/bin/drover";

const rootFlag = {
  root: {
    kind: "string",
    value: "DIR",
    default: "/",
    help: "install into this root instead (a Raspberry Pi image mounted here): nothing starts",
  },
} satisfies FlagSpec;

const installFlags = {
  "dry-run": { kind: "boolean", help: "print the unit and what would be done; change nothing" },
  binary: {
    kind: "string",
    value: "PATH",
    default: defaultBinary,
    help: "where the service runs drover from; this binary is copied there",
  },
  ...rootFlag,
} satisfies FlagSpec;

/** The command's own flags, with the data dir optional: a service has a default one. */
function commandFlags(kind: ServiceKind): FlagSpec {
  const own: FlagSpec = kind === "server" ? serverHelp.flags : agentHelp.flags;
  const dataDir = own["data-dir"];
  if (dataDir === undefined) throw new Error(`drover ${kind} has no --data-dir`);
  return {
    ...own,
    "data-dir": { ...dataDir, required: false, default: defaultDataDirs[kind] },
  };
}

async function install(
  kind: ServiceKind,
  flags: GivenFlags & Record<keyof typeof installFlags, unknown>,
  io: CommandIo,
) {
  const spec = commandFlags(kind);
  const own: GivenFlags = Object.fromEntries(Object.keys(spec).map((name) => [name, flags[name]]));
  if (kind === "agent") {
    // The agent's own checks, before anything is written: the same messages as `drover agent`.
    nginxOptionsFromFlags(own as Parameters<typeof nginxOptionsFromFlags>[0]);
    if ((own.token === undefined) !== (own.server === undefined))
      throw new UsageError(
        "give --server and --token together: the agent joins with both at its first start",
      );
  }
  const root = String(flags.root);
  const plan = planService({
    kind,
    binary: String(flags.binary),
    flags: own,
    spec,
    cwd: process.cwd(),
    groups: await groupsOf(root),
  });
  if (
    kind === "agent" &&
    own.token === undefined &&
    !existsSync(join(root, plan.dataDir, "agent.json"))
  )
    throw new UsageError(
      `${plan.dataDir} holds no agent identity: give --server HOST:PORT and --token TOKEN to join at the first start`,
    );
  if (flags["dry-run"] === true) {
    io.stdout(renderUnit(plan.unit));
    io.stderr(
      [
        `dry run: would write ${plan.unitPath} (above)`,
        `  copy this drover to ${plan.unit.exec[0]} unless it is already there`,
        plan.user === "root"
          ? "  run as root (system nginx)"
          : `  create system user ${plan.user} if missing`,
        `  create ${plan.dataDir} (0700, ${plan.user})`,
        ...(plan.environment
          ? [`  write the join token to ${plan.environment.path} (0600, root)`]
          : []),
        `  enable and start ${plan.name}.service`,
        "",
      ].join("\n"),
    );
    return 0;
  }
  if (io.executable === undefined)
    throw new UsageError(
      "run service install from the drover binary (npm run build:bin makes dist/drover): the service runs a copy of it",
    );
  if (process.getuid?.() !== 0)
    throw new UsageError("service install creates a user and writes /etc: run it as root (sudo)");
  const report = await installService(plan, await targetSystem(root), io.executable);
  io.stdout(`${report.steps.join("\n")}\n`);
  return 0;
}

function installCommand(kind: ServiceKind): Command {
  const example =
    kind === "server"
      ? "sudo drover service install server"
      : 'sudo drover service install agent --server 192.168.1.10:8440 --token "$TOKEN"';
  return defineCommand(
    {
      summary: `install drover ${kind} as a systemd service (its user, a 0700 data dir, the unit)`,
      details:
        `Takes drover ${kind}'s own flags; --data-dir defaults to ${defaultDataDirs[kind]}.` +
        (kind === "agent"
          ? `\nThe join token goes to ${servicePaths("agent").environmentPath} (0600), never the unit's command line.`
          : ""),
      flags: { ...installFlags, ...commandFlags(kind) },
      examples: [example, `drover service install ${kind} --dry-run`],
    },
    async ({ flags, positionals }, io) => {
      if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
      return install(kind, flags, io);
    },
  );
}

function uninstallCommand(kind: ServiceKind): Command {
  return defineCommand(
    {
      summary: `stop and remove the drover ${kind} service (the data dir stays unless --purge)`,
      flags: {
        purge: { kind: "boolean", help: "also remove the data dir and the service's user" },
        ...rootFlag,
      },
      examples: [`sudo drover service uninstall ${kind}`],
    },
    async ({ flags, positionals }, io) => {
      if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
      const steps = await uninstallService(
        servicePaths(kind),
        await targetSystem(flags.root),
        flags.purge,
      );
      io.stdout(`${steps.join("\n")}\n`);
      return 0;
    },
  );
}

export const serviceCommand = defineGroup({
  summary: "install or remove drover as a systemd service",
  commands: {
    install: defineGroup({
      summary: "install drover server or agent as a systemd service",
      commands: { server: installCommand("server"), agent: installCommand("agent") },
    }),
    uninstall: defineGroup({
      summary: "stop and remove an installed service",
      commands: { server: uninstallCommand("server"), agent: uninstallCommand("agent") },
    }),
  },
});
