import {
  type Flag,
  type FlagSpec,
  type ParsedFlags,
  parseFlags,
  UsageError,
  wantsHelp,
} from "./flags.ts";
import type { CommandIo } from "./io.ts";
import { didYouMean } from "./suggest.ts";

/**
 * A command or a group of them. `path` is how it was called (`drover token
 * create`), so a command never needs to know its own name.
 */
export interface Command {
  /** One line: what it does. */
  readonly summary: string;
  /** The usage line(s) for `path`: what a usage mistake prints. */
  usage(path: string): string;
  /** Everything `--help` prints. */
  help(path: string): string;
  run(path: string, argv: string[], io: CommandIo): Promise<number>;
}

export interface CommandHelp<S extends FlagSpec> {
  summary: string;
  flags: S;
  /** The positional arguments as the usage line shows them, e.g. "ID". */
  args?: string;
  /** Further lines of --help, after the summary. */
  details?: string;
  /** Command lines to copy, starting with "drover". */
  examples: string[];
}

const envNote = "Every flag also reads DROVER_<FLAG> from the environment (e.g. DROVER_DATA_DIR).";
const helpFlag = "-h, --help";

function placeholderOf(name: string, flag: Flag): string {
  return flag.value ?? name.toUpperCase().replaceAll("-", "_");
}

function flagUsage(name: string, flag: Flag): string {
  const dashed = flag.short ? `-${flag.short}` : `--${name}`;
  const shown = flag.kind === "boolean" ? dashed : `${dashed} ${placeholderOf(name, flag)}`;
  if (flag.kind === "list") return `[${shown}]...`;
  return flag.required ? shown : `[${shown}]`;
}

/** `words` after `head`, wrapped at 100 columns under the first word. */
function wrap(head: string, words: string[]): string {
  const indent = " ".repeat(head.length + 1);
  const lines = [head];
  for (const word of words) {
    const last = lines.length - 1;
    if (`${lines[last]} ${word}`.length > 100 && lines[last] !== head && lines[last] !== indent)
      lines.push(`${indent}${word}`);
    else lines[last] = lines[last] === indent ? `${indent}${word}` : `${lines[last]} ${word}`;
  }
  return lines.join("\n");
}

function flagLines(spec: FlagSpec): string[] {
  const rows = Object.entries(spec).map(([name, flag]) => {
    const short = flag.short ? `-${flag.short}, ` : "";
    const value = flag.kind === "boolean" ? "" : ` ${placeholderOf(name, flag)}`;
    const notes = [
      flag.required ? "required" : undefined,
      flag.default === undefined ? undefined : `default ${flag.default}`,
      flag.kind === "list" ? "repeatable" : undefined,
    ].filter((note) => note !== undefined);
    return [
      `${short}--${name}${value}`,
      notes.length ? `${flag.help} (${notes.join("; ")})` : flag.help,
    ];
  });
  rows.push([helpFlag, "show this help"]);
  const width = Math.max(...rows.map(([left]) => (left ?? "").length));
  return rows.map(([left, right]) => `  ${(left ?? "").padEnd(width)}  ${right}`);
}

/** Gives a usage mistake the usage of the command it happened in (the innermost wins). */
function withUsage(error: unknown, path: string, usage: string): unknown {
  if (error instanceof UsageError && error.command === undefined) {
    error.command = path;
    error.usage = usage;
  }
  return error;
}

/** A command whose usage line and --help come from its flags and a short description. */
export function defineCommand<S extends FlagSpec>(
  help: CommandHelp<S>,
  run: (input: { flags: ParsedFlags<S>; positionals: string[] }, io: CommandIo) => Promise<number>,
): Command {
  const usage = (path: string) =>
    wrap(path, [
      ...Object.entries(help.flags).map(([name, flag]) => flagUsage(name, flag)),
      ...(help.args ? [help.args] : []),
    ]);
  const command: Command = {
    summary: help.summary,
    usage,
    help: (path) =>
      [
        `${path}: ${help.summary}`,
        ...(help.details ? ["", help.details] : []),
        "",
        "Usage:",
        indent(usage(path)),
        "",
        "Flags:",
        ...flagLines(help.flags),
        "",
        help.examples.length > 1 ? "Examples:" : "Example:",
        ...help.examples.map((example) => `  ${example}`),
        "",
        envNote,
        "",
      ].join("\n"),
    run: async (path, argv, io) => {
      // Answered before any flag is checked, so a half-typed line still gets help.
      if (wantsHelp(argv)) {
        io.stdout(command.help(path));
        return 0;
      }
      try {
        return await run(parseFlags(help.flags, argv, io.env), io);
      } catch (error) {
        throw withUsage(error, path, usage(path));
      }
    },
  };
  return command;
}

function indent(text: string): string {
  return `  ${text.replaceAll("\n", "\n  ")}`;
}

export interface GroupHelp {
  summary: string;
  /** Subcommands by name, in the order --help lists them. */
  commands: Record<string, Command>;
  /** Other names a subcommand answers to (e.g. singulars): the canonical name, or undefined. */
  resolve?: (given: string) => string | undefined;
  /** Names shown where a subcommand is expected, e.g. "RESOURCE". */
  what?: string;
  /** A further paragraph for --help. */
  details?: string;
  /** The usage line, when the subcommands' own lines would be too many (the top level). */
  synopsis?: (path: string) => string;
}

/** `drover token create|revoke`: routes to a subcommand; help lists them. */
export function defineGroup(group: GroupHelp): Command {
  const names = Object.keys(group.commands);
  const what = group.what ?? "command";
  const find = (given: string): string | undefined =>
    Object.hasOwn(group.commands, given) ? given : group.resolve?.(given);
  const usage =
    group.synopsis ??
    ((path: string) =>
      names.map((name) => group.commands[name]?.usage(`${path} ${name}`) ?? "").join("\n"));
  const command: Command = {
    summary: group.summary,
    usage,
    help: (path) => {
      const width = Math.max(...names.map((name) => name.length));
      return [
        `${path}: ${group.summary}`,
        "",
        "Usage:",
        indent(usage(path)),
        "",
        `${what === "command" ? "Commands" : `${what[0]?.toUpperCase()}${what.slice(1)}s`}:`,
        ...names.map((name) => `  ${name.padEnd(width)}  ${group.commands[name]?.summary ?? ""}`),
        "",
        ...(group.details ? [group.details, ""] : []),
        `Run \`${path} ${what.toUpperCase()} --help\` for its flags and an example.`,
        "",
      ].join("\n");
    },
    run: async (path, argv, io) => {
      const [given, ...rest] = argv;
      if (given === "--help" || given === "-h" || given === "help") {
        io.stdout(command.help(path));
        return 0;
      }
      const name = given === undefined ? undefined : find(given);
      const chosen = name === undefined ? undefined : group.commands[name];
      if (name !== undefined && chosen) return chosen.run(`${path} ${name}`, rest, io);
      const error = new UsageError(
        given === undefined
          ? `${path} needs a ${what}: ${names.join(", ")}`
          : `unknown ${what}: ${given}${didYouMean(given, names)}`,
      );
      throw withUsage(error, path, usage(path));
    },
  };
  return command;
}
