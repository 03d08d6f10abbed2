/**
 * The node functions (the Pi-Controller seed's NodeAgent) as plain data: what
 * an agent's own config file declares, and what each function returns. The
 * agent computes them, the channel carries them as drover.node.v1 messages,
 * the edges (REST, gRPC, CLI, web UI) show them.
 */

/** A command the agent's config file declares: the only kind the server may run there. */
export interface DeclaredCommand {
  /** The program and its fixed arguments; run without a shell. */
  argv: string[];
  timeoutMs: number;
  /** Per stream (stdout, stderr); more is cut and flagged. */
  maxOutputBytes: number;
  /** Extra arguments must each match this whole; absent: no extra arguments. */
  argPattern?: string;
  /** At most this many extra arguments (default 8 with a pattern, 0 without). */
  maxArgs: number;
}

export type GpioDirection = "input" | "output";
export type GpioBias = "as-is" | "pull-up" | "pull-down" | "disabled";
/** Logical line state; with active_low, "on" drives the pin low. */
export type GpioLevel = "on" | "off";

/** A GPIO line the agent's config file declares; nothing else can be touched. */
export interface DeclaredLine {
  /** gpiochip0, or a path under /dev. */
  chip: string;
  offset: number;
  direction: GpioDirection;
  activeLow: boolean;
  bias: GpioBias;
  /** Outputs: the level set when the agent starts; default the safe level. */
  initial?: GpioLevel;
  /** Outputs: the level restored when the agent stops; default off. */
  safe?: GpioLevel;
}

/** `drover agent --config FILE`: what this machine lets the control plane do. */
export interface AgentNodeConfig {
  commands: Record<string, DeclaredCommand>;
  /** Name → absolute path of a log file StreamLogs may read. */
  logs: Record<string, string>;
  gpio: Record<string, DeclaredLine>;
}

export const emptyAgentNodeConfig: AgentNodeConfig = { commands: {}, logs: {}, gpio: {} };

export interface NetworkCounters {
  name: string;
  rxBytes: number;
  txBytes: number;
  rxPackets: number;
  txPackets: number;
  rxErrors: number;
  txErrors: number;
}

export interface TemperatureReading {
  zone: string;
  type: string;
  celsius: number;
}

/** `vcgencmd get_throttled`, decoded (bits 0–3 now, 16–19 since boot). */
export interface ThrottlingFlags {
  raw: number;
  underVoltage: boolean;
  frequencyCapped: boolean;
  throttled: boolean;
  softTemperatureLimit: boolean;
  underVoltageOccurred: boolean;
  frequencyCappedOccurred: boolean;
  throttledOccurred: boolean;
  softTemperatureLimitOccurred: boolean;
}

/** GetSystemMetrics, fresh from the agent. */
export interface SystemMetricsInfo {
  /** Percent of all cores over a short window. */
  cpuUsage: number;
  memoryUsage: number;
  diskUsage: number;
  memoryTotalBytes: number;
  memoryUsedBytes: number;
  diskTotalBytes: number;
  diskUsedBytes: number;
  loadAverage: [number, number, number];
  uptimeSeconds: number;
  cpuCount: number;
  network: NetworkCounters[];
  temperatures: TemperatureReading[];
  throttling?: ThrottlingFlags;
  /** Milliseconds since the epoch, on the agent's clock. */
  timestamp: number;
  hostname: string;
}

/** ExecuteCommand's request: a declared name and extra arguments. */
export interface CommandRun {
  command: string;
  args: string[];
  /** Lower than the declared timeout only; absent: the declared one. */
  timeoutMs?: number;
}

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
  /** The signal that ended it, when one did. */
  signal?: string;
}

/** StreamLogs' filter: journald (optionally one unit) or a declared file. */
export interface LogQuery {
  unit?: string;
  /** A declared log file's name; instead of journald. */
  file?: string;
  /** Entries since this time (ms since the epoch). */
  sinceMs?: number;
  /** journald priority: this and more urgent (0 emerg … 7 debug). */
  priority?: number;
  follow: boolean;
  /** At most this many past entries, the newest. */
  lines: number;
}

export interface NodeLogLine {
  timestamp: number;
  message: string;
  /** The unit, or the declared file's name. */
  source: string;
  /** journald's PRIORITY; 6 (info) for file lines. */
  priority: number;
  hostname?: string;
}

export type GpioAction = "set" | "get" | "pulse";

export interface GpioCall {
  /** A declared line's name; empty when `pin` names it. */
  line: string;
  /** The seed's pin (a declared line's offset), when no line is named: the agent resolves it. */
  pin?: number;
  action: GpioAction;
  /** set and pulse: the level to drive. */
  level?: GpioLevel;
  /** pulse: how long before the line returns to its previous level (≤ 60 s). */
  durationMs?: number;
}

export interface GpioResult {
  line: string;
  chip: string;
  offset: number;
  /** The logical level after the call. */
  level: GpioLevel;
}

/** HealthCheck: the round trip through the session. */
export interface NodeHealth {
  status: "OK";
  latencyMs: number;
  version: string;
  uptimeSeconds: number;
}

/** What an agent's config declares, for people choosing what to run (argv included). */
export interface NodeDescription {
  commands: Array<{ name: string } & DeclaredCommand>;
  logs: string[];
  gpio: Array<{ name: string } & DeclaredLine>;
  /** Whether journald can be read there. */
  journald: boolean;
}
