import { parseArgs } from "node:util";
import { didYouMean } from "./suggest.ts";

/** One flag of a command; its usage line and --help are made from these fields. */
export interface Flag {
  kind: "string" | "list" | "boolean";
  /** One line for --help: what the flag means. */
  help: string;
  /** How the value is shown in usage: DIR, HOST:PORT, agent|operator (default: the name in capitals). */
  value?: string;
  required?: boolean;
  default?: string;
  /** A one-letter form, e.g. "o" for `-o json`. */
  short?: string;
}

/**
 * Flags for one command. Every flag also reads DROVER_<FLAG> from the
 * environment (lists comma-separated); a flag on the command line wins.
 */
export interface FlagSpec {
  [name: string]: Flag;
}

export type ParsedFlags<S extends FlagSpec> = {
  [K in keyof S]: S[K]["kind"] extends "list"
    ? string[]
    : S[K]["kind"] extends "boolean"
      ? boolean
      : S[K]["required"] extends true
        ? string
        : S[K]["default"] extends string
          ? string
          : string | undefined;
};

/** A mistake in how the command was called: its usage is printed, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** `drover token create`: the command whose usage applies, set as the error leaves it. */
  command: string | undefined;
  /** The usage line(s) of that command. */
  usage: string | undefined;
}

export function envName(flag: string): string {
  return `DROVER_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** True when argv asks for help (`--help` or `-h` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

function unknownFlag(raw: string, name: string, spec: FlagSpec): UsageError {
  const long = Object.keys(spec);
  const suggestion =
    raw.startsWith("--") || name.length > 1
      ? didYouMean(name, long, "--")
      : didYouMean(
          name,
          Object.values(spec).flatMap((flag) => (flag.short ? [flag.short] : [])),
          "-",
        );
  return new UsageError(`unknown flag ${raw}${suggestion}`);
}

/** The flags' values by name, refusing unknown flags and flags without their value. */
function readArgv(spec: FlagSpec, argv: string[]) {
  const options: Record<string, { type: "string" | "boolean"; multiple: boolean; short?: string }> =
    {};
  for (const [name, flag] of Object.entries(spec)) {
    options[name] = {
      type: flag.kind === "boolean" ? "boolean" : "string",
      multiple: flag.kind === "list",
      ...(flag.short ? { short: flag.short } : {}),
    };
  }
  const { tokens } = parseArgs({
    args: argv,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values = new Map<string, string[] | boolean>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    const flag = spec[token.name];
    if (flag === undefined || !Object.hasOwn(spec, token.name))
      throw unknownFlag(token.rawName, token.name, spec);
    const shown = `--${token.name}`;
    if (flag.kind === "boolean") {
      if (token.value !== undefined) throw new UsageError(`${shown} takes no value`);
      values.set(token.name, true);
      continue;
    }
    let value = token.value;
    // Strict parsing took `--data-dir --role` as a missing value; so do we.
    if (value === undefined || (!token.inlineValue && value.startsWith("-") && value !== "-"))
      throw new UsageError(`${shown} needs a value${flag.value ? ` (${flag.value})` : ""}`);
    if (token.inlineValue && !token.rawName.startsWith("--")) value = value.replace(/^=/, "");
    // A list collects every value; for a single value the last one wins.
    const previous = flag.kind === "list" ? ((values.get(token.name) as string[]) ?? []) : [];
    values.set(token.name, [...previous, value]);
  }
  return { values, positionals };
}

export function parseFlags<S extends FlagSpec>(
  spec: S,
  argv: string[],
  env: Record<string, string | undefined>,
): { flags: ParsedFlags<S>; positionals: string[] } {
  const { values, positionals } = readArgv(spec, argv);
  const flags: Record<string, string | string[] | boolean | undefined> = {};
  for (const [name, flag] of Object.entries(spec)) {
    const given = values.get(name);
    const fromEnv = env[envName(name)];
    if (flag.kind === "list") {
      flags[name] =
        (given as string[] | undefined) ?? (fromEnv ? fromEnv.split(",").filter(Boolean) : []);
    } else if (flag.kind === "boolean") {
      flags[name] = (given as boolean | undefined) ?? (fromEnv === "true" || fromEnv === "1");
      if (flag.required && !flags[name])
        throw new UsageError(`--${name} is required (or set ${envName(name)}=true)`);
    } else {
      const value = (given as string[] | undefined)?.[0] ?? fromEnv ?? flag.default;
      if (flag.required && (value === undefined || value === "")) {
        throw new UsageError(`--${name} is required (or set ${envName(name)})`);
      }
      if (value === "") throw new UsageError(`--${name} must not be empty`);
      flags[name] = value;
    }
  }
  return { flags: flags as ParsedFlags<S>, positionals };
}

/** `-o json|table`. */
export const outputFlag = {
  output: {
    kind: "string",
    short: "o",
    value: "json|table",
    default: "table",
    help: "json prints the REST objects; table is for people",
  },
} satisfies FlagSpec;

export function outputOf(flags: { output: string }): "json" | "table" {
  if (flags.output === "json" || flags.output === "table") return flags.output;
  throw new UsageError("-o takes json or table");
}

/** The one positional ID a command takes. */
export function onlyId(positionals: string[], what: string): string {
  const [id, ...extra] = positionals;
  if (id === undefined || extra.length > 0) throw new UsageError(`give exactly one ${what} ID`);
  return id;
}
