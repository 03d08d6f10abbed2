/**
 * The agent's own config file (`drover agent --config FILE`): the commands,
 * log files and GPIO lines this machine lets the control plane use. Read once
 * at start and validated strictly: an unknown key is refused rather than
 * ignored, because a misspelt safety setting (say `max_arg` for `max_args`)
 * must not silently fall back to a default. Every problem names its field.
 */
import { Buffer } from "node:buffer";
import { readFile, stat } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { DroverError, type FieldViolation } from "../../errors/index.ts";
import type {
  AgentNodeConfig,
  DeclaredCommand,
  DeclaredLine,
  GpioBias,
  GpioLevel,
} from "../../node/types.ts";
import { parseDuration } from "../../time/index.ts";

const maxFileBytes = 1024 * 1024;
const maxEntries = 64;
const namePattern = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const minTimeoutMs = 1000;
const maxTimeoutMs = 3_600_000;
const defaultTimeoutMs = 30_000;
const maxOutputCap = 16 * 1024 * 1024;
const defaultOutputCap = 1024 * 1024;
const maxArgsLimit = 64;
const defaultMaxArgsWithPattern = 8;
const maxOffset = 1023;
const biases: readonly GpioBias[] = ["as-is", "pull-up", "pull-down", "disabled"];
const levels: readonly GpioLevel[] = ["on", "off"];

const topLevelKeys = ["commands", "logs", "gpio"];
const commandKeys = ["argv", "timeout", "max_output_bytes", "arg_pattern", "max_args"];
const lineKeys = ["chip", "offset", "direction", "active_low", "bias", "initial", "safe"];

/**
 * A declared argument pattern as it is enforced: anchored to the whole
 * argument, with the `u` flag (stricter syntax, no lone escapes).
 */
export function compileArgPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, "u");
}

export type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Collects every problem so one run of the agent reports them all. */
export class Checker {
  readonly problems: FieldViolation[] = [];

  fail(field: string, message: string): undefined {
    this.problems.push({ field, message });
    return undefined;
  }

  /** The section as a mapping of entries, or undefined (reported) when it is not one. */
  section(field: string, value: unknown): Fields | undefined {
    if (value === undefined || value === null) return {};
    if (!isObject(value)) return this.fail(field, "must be a mapping of names to entries");
    if (Object.keys(value).length > maxEntries) {
      return this.fail(field, `at most ${maxEntries} entries are allowed`);
    }
    for (const name of Object.keys(value)) {
      if (!namePattern.test(name)) {
        this.fail(
          `${field}.${name}`,
          "name must be 1-64 of a-z 0-9 _ . - starting with a letter or digit",
        );
      }
    }
    return value;
  }

  /** The entry's fields; unknown keys are reported. */
  entry(field: string, value: unknown, known: readonly string[]): Fields | undefined {
    if (!isObject(value)) return this.fail(field, "must be a mapping");
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        this.fail(`${field}.${key}`, `unknown key (expected one of: ${known.join(", ")})`);
      }
    }
    return value;
  }

  integer(field: string, value: unknown, min: number, max: number, fallback: number) {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      return this.fail(field, `must be an integer from ${min} to ${max}`);
    }
    return value;
  }

  oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback?: T) {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
      return this.fail(field, `must be one of: ${allowed.join(", ")}`);
    }
    return value as T;
  }
}

export function checkArgv(check: Checker, field: string, value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    return check.fail(field, "must be a non-empty list of strings");
  }
  const bad = value.flatMap((item: unknown, index) =>
    typeof item !== "string" || item === "" || item.includes("\0") ? [index] : [],
  );
  for (const index of bad) {
    check.fail(`${field}[${index}]`, "must be a non-empty string without NUL");
  }
  if (bad.length > 0) return undefined;
  const program = value[0] as string;
  if (!program.startsWith("/") && program.includes("/")) {
    return check.fail(
      `${field}[0]`,
      "must be an absolute path or a bare program name (a relative path depends on the working directory)",
    );
  }
  return value as string[];
}

function checkArgPattern(check: Checker, field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    return check.fail(field, "must be a non-empty regular expression");
  }
  try {
    compileArgPattern(value);
    return value;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return check.fail(field, `is not a valid regular expression (${reason})`);
  }
}

export function checkCommand(
  check: Checker,
  field: string,
  value: unknown,
): DeclaredCommand | undefined {
  const entry = check.entry(field, value, commandKeys);
  if (!entry) return undefined;
  const argv = checkArgv(check, `${field}.argv`, entry.argv);

  let timeoutMs: number | undefined = defaultTimeoutMs;
  if (entry.timeout !== undefined) {
    const parsed = typeof entry.timeout === "string" ? parseDuration(entry.timeout) : undefined;
    if (parsed === undefined)
      timeoutMs = check.fail(`${field}.timeout`, "must be a duration like 10s");
    else if (parsed < minTimeoutMs || parsed > maxTimeoutMs) {
      timeoutMs = check.fail(`${field}.timeout`, "must be from 1s to 1h");
    } else timeoutMs = parsed;
  }

  const maxOutputBytes = check.integer(
    `${field}.max_output_bytes`,
    entry.max_output_bytes,
    1,
    maxOutputCap,
    defaultOutputCap,
  );

  const argPattern = checkArgPattern(check, `${field}.arg_pattern`, entry.arg_pattern);
  const patternOk = entry.arg_pattern === undefined || argPattern !== undefined;
  const maxArgs = check.integer(
    `${field}.max_args`,
    entry.max_args,
    0,
    maxArgsLimit,
    argPattern === undefined ? 0 : defaultMaxArgsWithPattern,
  );
  if (patternOk && argPattern === undefined && maxArgs !== undefined && maxArgs > 0) {
    return check.fail(
      `${field}.max_args`,
      "needs arg_pattern: extra arguments must match a pattern",
    );
  }
  if (
    !argv ||
    !patternOk ||
    timeoutMs === undefined ||
    maxOutputBytes === undefined ||
    maxArgs === undefined
  ) {
    return undefined;
  }
  return argPattern === undefined
    ? { argv, timeoutMs, maxOutputBytes, maxArgs }
    : { argv, timeoutMs, maxOutputBytes, argPattern, maxArgs };
}

function checkLogPath(check: Checker, field: string, value: unknown): string | undefined {
  if (typeof value !== "string" || !value.startsWith("/") || value.includes("\0")) {
    return check.fail(field, "must be an absolute path");
  }
  return value;
}

/** The same chip written as `gpiochip0` or `/dev/gpiochip0`. */
function chipKey(chip: string): string {
  return chip.startsWith("/dev/") ? chip.slice("/dev/".length) : chip;
}

function checkChip(check: Checker, field: string, value: unknown): string | undefined {
  if (typeof value === "string" && /^gpiochip\d{1,4}$/.test(value)) return value;
  if (
    typeof value === "string" &&
    value.startsWith("/dev/") &&
    !value.includes("\0") &&
    !value.split("/").includes("..")
  ) {
    return value;
  }
  return check.fail(field, "must be gpiochipN or an absolute path under /dev/");
}

function checkLine(check: Checker, field: string, value: unknown): DeclaredLine | undefined {
  const entry = check.entry(field, value, lineKeys);
  if (!entry) return undefined;
  const chip = checkChip(check, `${field}.chip`, entry.chip);
  const offset =
    entry.offset === undefined
      ? check.fail(`${field}.offset`, "is required")
      : check.integer(`${field}.offset`, entry.offset, 0, maxOffset, 0);
  const direction = check.oneOf(`${field}.direction`, entry.direction, ["input", "output"]);
  let activeLow: boolean | undefined = false;
  if (entry.active_low !== undefined) {
    activeLow =
      typeof entry.active_low === "boolean"
        ? entry.active_low
        : check.fail(`${field}.active_low`, "must be true or false");
  }
  const bias = check.oneOf(`${field}.bias`, entry.bias, biases, "as-is");
  if (direction === "input") {
    for (const key of ["initial", "safe"] as const) {
      if (entry[key] !== undefined) check.fail(`${field}.${key}`, "applies to outputs only");
    }
  }
  const safe =
    direction === "output" ? check.oneOf(`${field}.safe`, entry.safe, levels, "off") : undefined;
  const initial =
    direction === "output" && safe !== undefined
      ? check.oneOf(`${field}.initial`, entry.initial, levels, safe)
      : undefined;
  if (
    chip === undefined ||
    offset === undefined ||
    direction === undefined ||
    activeLow === undefined ||
    bias === undefined
  ) {
    return undefined;
  }
  if (direction === "input") return { chip, offset, direction, activeLow, bias };
  if (safe === undefined || initial === undefined) return undefined;
  return { chip, offset, direction, activeLow, bias, initial, safe };
}

export function parseDocument(text: string, source: string): unknown {
  const trimmed = text.trimStart();
  try {
    if (trimmed.startsWith("{")) return JSON.parse(text);
    // maxAliasCount bounds "billion laughs" expansion; yaml 2 has no code-running tags.
    return parseYaml(text, { maxAliasCount: 100, prettyErrors: false });
  } catch (error) {
    const format = trimmed.startsWith("{") ? "JSON" : "YAML";
    const reason = error instanceof Error ? error.message : String(error);
    throw new DroverError("invalid_argument", `${source}: not valid ${format}: ${reason}`, {
      details: [{ field: "", message: `not valid ${format}: ${reason}` }],
    });
  }
}

/** Parses and validates the config text; `source` (the file name) prefixes every message. */
export function parseAgentNodeConfig(text: string, source: string): AgentNodeConfig {
  if (Buffer.byteLength(text) > maxFileBytes) {
    throw new DroverError("invalid_argument", `${source}: larger than 1 MiB`, {
      details: [{ field: "", message: "larger than 1 MiB" }],
    });
  }
  const document = parseDocument(text, source);
  const check = new Checker();
  const root =
    document === null || document === undefined
      ? {}
      : check.entry("config", document, topLevelKeys);
  const config: AgentNodeConfig = { commands: {}, logs: {}, gpio: {} };
  if (root) {
    const commands = check.section("commands", root.commands);
    for (const [name, value] of Object.entries(commands ?? {})) {
      const command = checkCommand(check, `commands.${name}`, value);
      if (command) config.commands[name] = command;
    }
    const logs = check.section("logs", root.logs);
    for (const [name, value] of Object.entries(logs ?? {})) {
      const path = checkLogPath(check, `logs.${name}`, value);
      if (path) config.logs[name] = path;
    }
    const gpio = check.section("gpio", root.gpio);
    const claimed = new Map<string, string>();
    for (const [name, value] of Object.entries(gpio ?? {})) {
      const line = checkLine(check, `gpio.${name}`, value);
      if (!line) continue;
      const key = `${chipKey(line.chip)}:${line.offset}`;
      const owner = claimed.get(key);
      if (owner !== undefined) {
        check.fail(`gpio.${name}.offset`, `line ${key} is already declared as ${owner}`);
        continue;
      }
      claimed.set(key, name);
      config.gpio[name] = line;
    }
  }
  if (check.problems.length > 0) {
    const summary = check.problems.map((problem) => `${problem.field}: ${problem.message}`);
    throw new DroverError("invalid_argument", `${source}: ${summary.join("; ")}`, {
      details: check.problems,
    });
  }
  return config;
}

/** Reads and validates the config file at `path`. */
export async function loadAgentNodeConfig(path: string): Promise<AgentNodeConfig> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      throw new DroverError("invalid_argument", `agent config ${path}: not a regular file`);
    }
    if (info.size > maxFileBytes) {
      throw new DroverError("invalid_argument", `agent config ${path}: larger than 1 MiB`);
    }
    text = await readFile(path, "utf8");
  } catch (error) {
    if (error instanceof DroverError) throw error;
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT") {
      throw new DroverError("not_found", `agent config ${path} does not exist`, { cause: error });
    }
    throw new DroverError("failed_precondition", `agent config ${path} cannot be read (${code})`, {
      cause: error,
    });
  }
  return parseAgentNodeConfig(text, path);
}
