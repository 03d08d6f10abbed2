/**
 * The exporter file (`drover agent --exporter FILE`, JSON or YAML): the
 * drivers this machine offers for lease and the hooks around a lease. Read
 * once at start and checked as strictly as the agent's --config (the same
 * checker): an unknown key is refused with its field path, so a misspelt
 * setting never falls back to a default; every problem names its field.
 */
import { Buffer } from "node:buffer";
import { readFile, stat } from "node:fs/promises";
import {
  Checker,
  checkArgv,
  checkCommand,
  type Fields,
  parseDocument,
} from "../agent/node/config.ts";
import { DroverError } from "../errors/index.ts";
import type { AgentNodeConfig, DeclaredCommand } from "../node/types.ts";
import { parseDuration } from "../time/index.ts";

export type DriverType = "power" | "serial" | "tcp" | "shell" | "gpio";

/** Power through two declared commands, or through an output line of the agent's --config. */
export type PowerConfig = { on: string[]; off: string[]; timeoutMs: number } | { gpio: string };

export type DriverSettings =
  | { type: "power"; config: PowerConfig }
  | { type: "serial"; config: { device: string; baud: number } }
  | { type: "tcp"; config: { host: string; port: number } }
  | { type: "shell"; config: { commands: Record<string, DeclaredCommand> } }
  | { type: "gpio"; config: { lines: string[] } };

export type DriverConfig = DriverSettings & {
  name: string;
  labels: Record<string, string>;
  description?: string;
  children: DriverConfig[];
};

/** A hook: argv run without a shell, like a declared command. */
export interface HookConfig {
  argv: string[];
  timeoutMs: number;
}

export interface ExporterConfig {
  drivers: DriverConfig[];
  hooks: { beforeLease?: HookConfig; afterLease?: HookConfig };
  /** Labels the exporter claims at Register: shown, never matched by a selector. */
  labels: Record<string, string>;
}

const maxFileBytes = 1024 * 1024;
const maxDrivers = 64;
const maxDepth = 4;
const namePattern = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const labelKeyPattern =
  /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
const defaultHookTimeoutMs = 120_000;
const defaultPowerTimeoutMs = 30_000;
/** The rates stty knows by name on Linux. */
const baudRates = [
  50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600, 19200, 38400, 57600, 115200,
  230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000,
  3500000, 4000000,
];

const topLevelKeys = ["drivers", "hooks", "labels"];
const driverKeys = ["name", "type", "labels", "description", "config", "children"];
const hookKeys = ["argv", "timeout"];
const configKeys: Record<DriverType, readonly string[]> = {
  power: ["on", "off", "timeout", "gpio"],
  serial: ["device", "baud"],
  tcp: ["host", "port"],
  shell: ["commands"],
  gpio: ["lines"],
};
const driverTypes = Object.keys(configKeys) as DriverType[];

function checkTimeout(check: Checker, field: string, value: unknown, fallback: number) {
  if (value === undefined) return fallback;
  const parsed = typeof value === "string" ? parseDuration(value) : undefined;
  if (parsed === undefined || parsed < 1000 || parsed > 3_600_000)
    return check.fail(field, "must be a duration from 1s to 1h, like 120s");
  return parsed;
}

function checkLabels(check: Checker, field: string, value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    check.fail(field, "must be a mapping of label keys to strings");
    return {};
  }
  const labels: Record<string, string> = {};
  for (const [key, text] of Object.entries(value as Fields)) {
    if (!labelKeyPattern.test(key)) check.fail(`${field}.${key}`, "is not a valid label key");
    else if (typeof text !== "string" || text.length > 63)
      check.fail(`${field}.${key}`, "must be a string of at most 63 characters");
    else labels[key] = text;
  }
  return labels;
}

function checkHook(check: Checker, field: string, value: unknown): HookConfig | undefined {
  const entry = check.entry(field, value, hookKeys);
  if (!entry) return undefined;
  const argv = checkArgv(check, `${field}.argv`, entry.argv);
  const timeoutMs = checkTimeout(check, `${field}.timeout`, entry.timeout, defaultHookTimeoutMs);
  return argv && timeoutMs !== undefined ? { argv, timeoutMs } : undefined;
}

function checkPower(check: Checker, field: string, config: Fields): PowerConfig | undefined {
  if (config.gpio !== undefined) {
    for (const key of ["on", "off", "timeout"])
      if (config[key] !== undefined)
        check.fail(`${field}.${key}`, "not with gpio: power is either commands or a line");
    if (typeof config.gpio !== "string" || !namePattern.test(config.gpio))
      return check.fail(`${field}.gpio`, "must name a GPIO line of the agent's --config");
    return { gpio: config.gpio };
  }
  const on = checkArgv(check, `${field}.on`, config.on);
  const off = checkArgv(check, `${field}.off`, config.off);
  const timeoutMs = checkTimeout(check, `${field}.timeout`, config.timeout, defaultPowerTimeoutMs);
  return on && off && timeoutMs !== undefined ? { on, off, timeoutMs } : undefined;
}

function checkSettings(
  check: Checker,
  field: string,
  type: DriverType,
  config: Fields,
): DriverSettings | undefined {
  switch (type) {
    case "power": {
      const power = checkPower(check, field, config);
      return power && { type, config: power };
    }
    case "serial": {
      const device = config.device;
      const okDevice =
        typeof device === "string" &&
        device.startsWith("/dev/") &&
        !device.includes("\0") &&
        !device.split("/").includes("..");
      if (!okDevice) check.fail(`${field}.device`, "must be an absolute path under /dev/");
      const baud = config.baud ?? 115200;
      const okBaud = typeof baud === "number" && baudRates.includes(baud);
      if (!okBaud) check.fail(`${field}.baud`, "must be a standard rate such as 9600 or 115200");
      return okDevice && okBaud ? { type, config: { device, baud } } : undefined;
    }
    case "tcp": {
      const { host, port } = config;
      const okHost = typeof host === "string" && /^[A-Za-z0-9]([A-Za-z0-9.:-]{0,252})$/.test(host);
      if (!okHost) check.fail(`${field}.host`, "must be a host name or an IP address");
      const okPort = typeof port === "number" && Number.isInteger(port) && port > 0 && port < 65536;
      if (!okPort) check.fail(`${field}.port`, "must be a port number (1-65535)");
      return okHost && okPort ? { type, config: { host, port } } : undefined;
    }
    case "shell": {
      const section = check.section(`${field}.commands`, config.commands);
      if (!section) return undefined;
      if (Object.keys(section).length === 0)
        return check.fail(`${field}.commands`, "must declare at least one command");
      const commands: Record<string, DeclaredCommand> = {};
      let ok = true;
      for (const [name, value] of Object.entries(section)) {
        const command = checkCommand(check, `${field}.commands.${name}`, value);
        if (command) commands[name] = command;
        else ok = false;
      }
      return ok ? { type, config: { commands } } : undefined;
    }
    case "gpio": {
      const lines = config.lines;
      if (
        !Array.isArray(lines) ||
        lines.length === 0 ||
        !lines.every((line) => typeof line === "string" && namePattern.test(line))
      )
        return check.fail(`${field}.lines`, "must list GPIO line names of the agent's --config");
      return { type, config: { lines: [...new Set(lines as string[])] } };
    }
  }
}

function checkDriver(
  check: Checker,
  field: string,
  value: unknown,
  depth: number,
): DriverConfig | undefined {
  const entry = check.entry(field, value, driverKeys);
  if (!entry) return undefined;
  const name = entry.name;
  if (typeof name !== "string" || !namePattern.test(name))
    check.fail(`${field}.name`, "must be 1-64 of a-z 0-9 _ . - starting with a letter or digit");
  const type = check.oneOf(`${field}.type`, entry.type, driverTypes);
  const labels = checkLabels(check, `${field}.labels`, entry.labels);
  if (entry.description !== undefined && typeof entry.description !== "string")
    check.fail(`${field}.description`, "must be a string");
  const config = type && check.entry(`${field}.config`, entry.config ?? {}, configKeys[type]);
  const settings = type && config && checkSettings(check, `${field}.config`, type, config);
  const children = checkDrivers(check, `${field}.children`, entry.children, depth + 1);
  if (typeof name !== "string" || !settings || !children) return undefined;
  return {
    ...settings,
    name,
    labels,
    ...(typeof entry.description === "string" ? { description: entry.description } : {}),
    children,
  };
}

function checkDrivers(
  check: Checker,
  field: string,
  value: unknown,
  depth: number,
): DriverConfig[] | undefined {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return check.fail(field, "must be a list of drivers");
  if (depth > maxDepth) return check.fail(field, `drivers nest at most ${maxDepth} deep`);
  const drivers: DriverConfig[] = [];
  const names = new Set<string>();
  value.forEach((item, index) => {
    const driver = checkDriver(check, `${field}[${index}]`, item, depth);
    if (!driver) return;
    if (names.has(driver.name))
      check.fail(`${field}[${index}].name`, `${driver.name} is used twice at this level`);
    names.add(driver.name);
    drivers.push(driver);
  });
  return drivers;
}

function countDrivers(drivers: DriverConfig[]): number {
  return drivers.reduce((sum, driver) => sum + 1 + countDrivers(driver.children), 0);
}

function refuse(source: string, check: Checker): never {
  const summary = check.problems.map((problem) => `${problem.field}: ${problem.message}`);
  throw new DroverError("invalid_argument", `${source}: ${summary.join("; ")}`, {
    details: check.problems,
  });
}

/** Parses and validates the exporter file's text; `source` (the file name) prefixes every message. */
export function parseExporterConfig(text: string, source: string): ExporterConfig {
  if (Buffer.byteLength(text) > maxFileBytes)
    throw new DroverError("invalid_argument", `${source}: larger than 1 MiB`);
  const document = parseDocument(text, source);
  const check = new Checker();
  const root = check.entry("exporter", document ?? {}, topLevelKeys);
  if (!root) refuse(source, check);
  const drivers = checkDrivers(check, "drivers", root.drivers, 1) ?? [];
  if (drivers.length === 0 && check.problems.length === 0)
    check.fail("drivers", "must list at least one driver");
  if (countDrivers(drivers) > maxDrivers) check.fail("drivers", `at most ${maxDrivers} drivers`);
  const hooks = check.entry("hooks", root.hooks ?? {}, ["before_lease", "after_lease"]);
  const beforeLease =
    hooks?.before_lease === undefined
      ? undefined
      : checkHook(check, "hooks.before_lease", hooks.before_lease);
  const afterLease =
    hooks?.after_lease === undefined
      ? undefined
      : checkHook(check, "hooks.after_lease", hooks.after_lease);
  const labels = checkLabels(check, "labels", root.labels);
  if (check.problems.length > 0) refuse(source, check);
  return {
    drivers,
    hooks: {
      ...(beforeLease ? { beforeLease } : {}),
      ...(afterLease ? { afterLease } : {}),
    },
    labels,
  };
}

/** Reads and validates the exporter file at `path`. */
export async function loadExporterConfig(path: string): Promise<ExporterConfig> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile() || info.size > maxFileBytes)
      throw new DroverError(
        "invalid_argument",
        `exporter file ${path}: not a regular file of at most 1 MiB`,
      );
    text = await readFile(path, "utf8");
  } catch (error) {
    if (error instanceof DroverError) throw error;
    const code = (error as { code?: unknown }).code;
    throw new DroverError(
      code === "ENOENT" ? "not_found" : "failed_precondition",
      `exporter file ${path} cannot be read (${String(code)})`,
      { cause: error },
    );
  }
  return parseExporterConfig(text, path);
}

function linesUsed(drivers: DriverConfig[], path: string): Array<{ field: string; line: string }> {
  return drivers.flatMap((driver, index) => {
    const field = `${path}[${index}].config`;
    const own =
      driver.type === "power" && "gpio" in driver.config
        ? [{ field: `${field}.gpio`, line: driver.config.gpio }]
        : driver.type === "gpio"
          ? driver.config.lines.map((line) => ({ field: `${field}.lines`, line }))
          : [];
    return [...own, ...linesUsed(driver.children, `${path}[${index}].children`)];
  });
}

/**
 * Checks the exporter's GPIO names against the agent's --config: a line
 * must be declared there (the machine's file is the one allow-list), and a
 * power line must be an output.
 */
export function checkExporterLines(
  config: ExporterConfig,
  node: AgentNodeConfig,
  source: string,
): void {
  const check = new Checker();
  for (const { field, line } of linesUsed(config.drivers, "drivers")) {
    const declared = Object.hasOwn(node.gpio, line) ? node.gpio[line] : undefined;
    if (!declared) check.fail(field, `GPIO line ${line} is not declared in the agent's --config`);
    else if (field.endsWith(".gpio") && declared.direction !== "output")
      check.fail(field, `GPIO line ${line} is an input: power needs an output`);
  }
  if (check.problems.length > 0) refuse(source, check);
}
