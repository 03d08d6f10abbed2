import type { MessageInitShape } from "@bufbuild/protobuf";
import { invalidField } from "../errors/index.ts";
import {
  type CommandRequest,
  type CommandRequestSchema,
  type CommandResponse,
  type CommandResponseSchema,
  GPIOAction,
  type GPIORequest,
  type GPIORequestSchema,
  type GPIOResponse,
  type GPIOResponseSchema,
  type HealthStatus,
  type HealthStatusSchema,
  type LogEntry,
  type LogEntrySchema,
  type LogFilter,
  type LogFilterSchema,
  type NodeDescription,
  type NodeDescriptionSchema,
  PinState,
  type SystemMetrics,
  type SystemMetricsSchema,
} from "../gen/drover/node/v1/node_pb.ts";
import type {
  CommandResult,
  CommandRun,
  DeclaredLine,
  GpioAction,
  GpioCall,
  GpioResult,
  LogQuery,
  NodeDescription as NodeDescriptionInfo,
  NodeHealth,
  NodeLogLine,
  SystemMetricsInfo,
} from "../node/types.ts";
import { parseDuration } from "../time/index.ts";

/** Node functions: drover.node.v1 (the seed's NodeAgent messages) ↔ lib/node's plain data. */

export function systemMetricsToProto(
  m: SystemMetricsInfo,
): MessageInitShape<typeof SystemMetricsSchema> {
  return {
    cpuUsage: m.cpuUsage,
    memoryUsage: m.memoryUsage,
    diskUsage: m.diskUsage,
    memoryTotalBytes: BigInt(Math.round(m.memoryTotalBytes)),
    memoryUsedBytes: BigInt(Math.round(m.memoryUsedBytes)),
    diskTotalBytes: BigInt(Math.round(m.diskTotalBytes)),
    diskUsedBytes: BigInt(Math.round(m.diskUsedBytes)),
    loadAverage1m: m.loadAverage[0],
    loadAverage5m: m.loadAverage[1],
    loadAverage15m: m.loadAverage[2],
    uptimeSeconds: m.uptimeSeconds,
    cpuCount: m.cpuCount,
    network: m.network.map((n) => ({
      name: n.name,
      rxBytes: BigInt(n.rxBytes),
      txBytes: BigInt(n.txBytes),
      rxPackets: BigInt(n.rxPackets),
      txPackets: BigInt(n.txPackets),
      rxErrors: BigInt(n.rxErrors),
      txErrors: BigInt(n.txErrors),
    })),
    temperatures: m.temperatures,
    ...(m.throttling === undefined ? {} : { throttling: m.throttling }),
    timestamp: BigInt(m.timestamp),
    hostname: m.hostname,
  };
}

export function systemMetricsFromProto(m: SystemMetrics): SystemMetricsInfo {
  return {
    cpuUsage: m.cpuUsage,
    memoryUsage: m.memoryUsage,
    diskUsage: m.diskUsage,
    memoryTotalBytes: Number(m.memoryTotalBytes),
    memoryUsedBytes: Number(m.memoryUsedBytes),
    diskTotalBytes: Number(m.diskTotalBytes),
    diskUsedBytes: Number(m.diskUsedBytes),
    loadAverage: [m.loadAverage1m, m.loadAverage5m, m.loadAverage15m],
    uptimeSeconds: m.uptimeSeconds,
    cpuCount: m.cpuCount,
    network: m.network.map((n) => ({
      name: n.name,
      rxBytes: Number(n.rxBytes),
      txBytes: Number(n.txBytes),
      rxPackets: Number(n.rxPackets),
      txPackets: Number(n.txPackets),
      rxErrors: Number(n.rxErrors),
      txErrors: Number(n.txErrors),
    })),
    temperatures: m.temperatures.map(({ zone, type, celsius }) => ({ zone, type, celsius })),
    ...(m.throttling === undefined
      ? {}
      : {
          throttling: {
            raw: m.throttling.raw,
            underVoltage: m.throttling.underVoltage,
            frequencyCapped: m.throttling.frequencyCapped,
            throttled: m.throttling.throttled,
            softTemperatureLimit: m.throttling.softTemperatureLimit,
            underVoltageOccurred: m.throttling.underVoltageOccurred,
            frequencyCappedOccurred: m.throttling.frequencyCappedOccurred,
            throttledOccurred: m.throttling.throttledOccurred,
            softTemperatureLimitOccurred: m.throttling.softTemperatureLimitOccurred,
          },
        }),
    timestamp: Number(m.timestamp),
    hostname: m.hostname,
  };
}

const commandNamePattern = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** An operator's ExecuteCommand: shapes only; the agent checks it against its declaration. */
export function commandRunFromProto(request: CommandRequest): CommandRun {
  if (!commandNamePattern.test(request.command))
    throw invalidField("command", "must name a declared command ([a-z0-9][a-z0-9_.-]{0,63})");
  if (request.args.length > 64) throw invalidField("args", "at most 64 arguments");
  request.args.forEach((arg, i) => {
    if (arg.length > 4096 || arg.includes("\0"))
      throw invalidField(`args[${i}]`, "at most 4096 characters, no NUL");
  });
  return {
    command: request.command,
    args: [...request.args],
    ...(request.timeoutSeconds === 0 ? {} : { timeoutMs: request.timeoutSeconds * 1000 }),
  };
}

export function commandRunToProto(run: CommandRun): MessageInitShape<typeof CommandRequestSchema> {
  return {
    command: run.command,
    args: run.args,
    timeoutSeconds: run.timeoutMs === undefined ? 0 : Math.ceil(run.timeoutMs / 1000),
  };
}

export function commandResultToProto(
  r: CommandResult,
): MessageInitShape<typeof CommandResponseSchema> {
  return { ...r, durationMs: Math.round(r.durationMs), signal: r.signal ?? "" };
}

export function commandResultFromProto(r: CommandResponse): CommandResult {
  return {
    exitCode: r.exitCode,
    stdout: r.stdout,
    stderr: r.stderr,
    timedOut: r.timedOut,
    stdoutTruncated: r.stdoutTruncated,
    stderrTruncated: r.stderrTruncated,
    durationMs: r.durationMs,
    ...(r.signal === "" ? {} : { signal: r.signal }),
  };
}

/** LogFilter → LogQuery; `since` is a duration back from `now` or an RFC 3339 time. */
export function logQueryFromProto(filter: LogFilter, now: Date): LogQuery {
  let sinceMs: number | undefined;
  if (filter.since !== "") {
    const back = parseDuration(filter.since);
    const at = back === undefined ? Date.parse(filter.since) : now.getTime() - back;
    if (!Number.isFinite(at))
      throw invalidField("since", "must be a duration (10m) or an RFC 3339 time");
    sinceMs = at;
  }
  if (filter.hasPriority && (filter.priority < 0 || filter.priority > 7))
    throw invalidField("priority", "must be 0 (emerg) to 7 (debug)");
  if (filter.lines > 10_000) throw invalidField("lines", "at most 10000");
  if (filter.unit !== "" && filter.file !== "")
    throw invalidField("file", "give unit or file, not both");
  return {
    ...(filter.unit === "" ? {} : { unit: filter.unit }),
    ...(filter.file === "" ? {} : { file: filter.file }),
    ...(sinceMs === undefined ? {} : { sinceMs }),
    ...(filter.hasPriority ? { priority: filter.priority } : {}),
    follow: filter.follow,
    lines: filter.lines === 0 ? 100 : filter.lines,
  };
}

export function logQueryToProto(query: LogQuery): MessageInitShape<typeof LogFilterSchema> {
  return {
    unit: query.unit ?? "",
    file: query.file ?? "",
    since: query.sinceMs === undefined ? "" : new Date(query.sinceMs).toISOString(),
    priority: query.priority ?? 0,
    hasPriority: query.priority !== undefined,
    follow: query.follow,
    lines: query.lines,
  };
}

export function logLineToProto(line: NodeLogLine): MessageInitShape<typeof LogEntrySchema> {
  return { ...line, timestamp: BigInt(Math.round(line.timestamp)), hostname: line.hostname ?? "" };
}

export function logLineFromProto(entry: LogEntry): NodeLogLine {
  return {
    timestamp: Number(entry.timestamp),
    message: entry.message,
    source: entry.source,
    priority: entry.priority,
    ...(entry.hostname === "" ? {} : { hostname: entry.hostname }),
  };
}

const gpioActions: Record<number, GpioAction> = {
  [GPIOAction.SET]: "set",
  [GPIOAction.GET]: "get",
  [GPIOAction.PULSE]: "pulse",
};
const gpioActionEnums: Record<GpioAction, GPIOAction> = {
  set: GPIOAction.SET,
  get: GPIOAction.GET,
  pulse: GPIOAction.PULSE,
};

/**
 * GPIORequest → GpioCall. `line` names the declared line; the seed's `pin`
 * names the declared line with that offset (refused when two declared lines
 * share it). Only the agent knows its lines: without `lines` (the server
 * forwarding a call), a pin stays a pin for the agent to resolve.
 */
export function gpioCallFromProto(
  request: GPIORequest,
  lines?: Record<string, DeclaredLine>,
): GpioCall {
  const action = gpioActions[request.action];
  if (!action) throw invalidField("action", "must be SET, GET or PULSE");
  let line = request.line;
  if (line === "" && lines === undefined) {
    return { line, pin: request.pin, ...levelAndDuration(action, request) };
  }
  if (line === "" && lines !== undefined) {
    const matches = Object.entries(lines).filter(([, declared]) => declared.offset === request.pin);
    if (matches.length === 0)
      throw invalidField("pin", `no declared GPIO line has offset ${request.pin}`);
    if (matches.length > 1)
      throw invalidField(
        "pin",
        `offset ${request.pin} is declared on more than one chip; name the line`,
      );
    line = (matches[0] as [string, DeclaredLine])[0];
  }
  return { line, ...levelAndDuration(action, request) };
}

function levelAndDuration(action: GpioAction, request: GPIORequest): Omit<GpioCall, "line"> {
  return {
    action,
    ...(action === "get" ? {} : { level: request.state === PinState.HIGH ? "on" : "off" }),
    ...(action === "pulse" ? { durationMs: request.durationMs } : {}),
  };
}

export function gpioCallToProto(call: GpioCall): MessageInitShape<typeof GPIORequestSchema> {
  return {
    line: call.line,
    pin: call.pin ?? 0,
    action: gpioActionEnums[call.action],
    state: call.level === "on" ? PinState.HIGH : PinState.LOW,
    durationMs: call.durationMs ?? 0,
  };
}

export function gpioResultToProto(result: GpioResult): MessageInitShape<typeof GPIOResponseSchema> {
  return {
    success: true,
    message: `${result.line} is ${result.level}`,
    state: result.level === "on" ? PinState.HIGH : PinState.LOW,
    line: result.line,
    pin: result.offset,
    chip: result.chip,
  };
}

export function gpioResultFromProto(response: GPIOResponse): GpioResult {
  return {
    line: response.line,
    chip: response.chip,
    offset: response.pin,
    level: response.state === PinState.HIGH ? "on" : "off",
  };
}

export function nodeHealthToProto(health: NodeHealth): MessageInitShape<typeof HealthStatusSchema> {
  return { ...health, message: "" };
}

export function nodeHealthFromProto(status: HealthStatus): Omit<NodeHealth, "latencyMs"> {
  return { status: "OK", version: status.version, uptimeSeconds: status.uptimeSeconds };
}

export function nodeDescriptionToProto(
  d: NodeDescriptionInfo,
): MessageInitShape<typeof NodeDescriptionSchema> {
  return {
    commands: d.commands.map((c) => ({
      name: c.name,
      argv: c.argv,
      timeoutMs: c.timeoutMs,
      maxOutputBytes: c.maxOutputBytes,
      argPattern: c.argPattern ?? "",
      maxArgs: c.maxArgs,
    })),
    logs: d.logs,
    gpio: d.gpio.map((l) => ({
      name: l.name,
      chip: l.chip,
      offset: l.offset,
      direction: l.direction,
      activeLow: l.activeLow,
      bias: l.bias,
      initial: l.initial ?? "",
      safe: l.safe ?? "",
    })),
    journald: d.journald,
  };
}

export function nodeDescriptionFromProto(d: NodeDescription): NodeDescriptionInfo {
  const level = (value: string) => (value === "on" || value === "off" ? value : undefined);
  return {
    commands: d.commands.map((c) => ({
      name: c.name,
      argv: [...c.argv],
      timeoutMs: c.timeoutMs,
      maxOutputBytes: c.maxOutputBytes,
      ...(c.argPattern === "" ? {} : { argPattern: c.argPattern }),
      maxArgs: c.maxArgs,
    })),
    logs: [...d.logs],
    gpio: d.gpio.map((l) => {
      const initial = level(l.initial);
      const safe = level(l.safe);
      return {
        name: l.name,
        chip: l.chip,
        offset: l.offset,
        direction: l.direction === "output" ? "output" : "input",
        activeLow: l.activeLow,
        bias:
          l.bias === "pull-up" || l.bias === "pull-down" || l.bias === "disabled"
            ? l.bias
            : "as-is",
        ...(initial === undefined ? {} : { initial }),
        ...(safe === undefined ? {} : { safe }),
      };
    }),
    journald: d.journald,
  };
}
