import { parseArgs } from "node:util";

/**
 * Flags for one command. Every flag also reads DROVER_<FLAG> from the
 * environment (lists comma-separated); a flag on the command line wins.
 */
export interface FlagSpec {
  [name: string]: { kind: "string" | "list" | "boolean"; required?: boolean; default?: string };
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

/** A mistake in how the command was called: usage is printed, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function envName(flag: string): string {
  return `DROVER_${flag.toUpperCase().replaceAll("-", "_")}`;
}

export function parseFlags<S extends FlagSpec>(
  spec: S,
  argv: string[],
  env: Record<string, string | undefined>,
): { flags: ParsedFlags<S>; positionals: string[] } {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const [name, flag] of Object.entries(spec)) {
    options[name] = {
      type: flag.kind === "boolean" ? "boolean" : "string",
      multiple: flag.kind === "list",
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const flags: Record<string, string | string[] | boolean | undefined> = {};
  for (const [name, flag] of Object.entries(spec)) {
    const given = parsed.values[name];
    const fromEnv = env[envName(name)];
    if (flag.kind === "list") {
      flags[name] =
        (given as string[] | undefined) ?? (fromEnv ? fromEnv.split(",").filter(Boolean) : []);
    } else if (flag.kind === "boolean") {
      flags[name] = (given as boolean | undefined) ?? (fromEnv === "true" || fromEnv === "1");
    } else {
      const value = (given as string | undefined) ?? fromEnv ?? flag.default;
      if (flag.required && (value === undefined || value === "")) {
        throw new UsageError(`--${name} is required (or set ${envName(name)})`);
      }
      if (value === "") throw new UsageError(`--${name} must not be empty`);
      flags[name] = value;
    }
  }
  return { flags: flags as ParsedFlags<S>, positionals: parsed.positionals };
}

/** `-o json` and `-ojson` are `--output json`: parseFlags knows long flags only. */
export function expandShortFlags(argv: string[]): string[] {
  const end = argv.indexOf("--");
  const flags = end === -1 ? argv : argv.slice(0, end);
  const expanded = flags.flatMap((arg) => {
    if (arg === "-o") return ["--output"];
    if (/^-o[^-]/.test(arg)) return ["--output", arg.slice(2).replace(/^=/, "")];
    return [arg];
  });
  return end === -1 ? expanded : [...expanded, ...argv.slice(end)];
}

/** `-o json|table`, with expandShortFlags. */
export const outputFlag = { output: { kind: "string", default: "table" } } satisfies FlagSpec;

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
