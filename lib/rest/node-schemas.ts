import { create } from "@bufbuild/protobuf";
import { z } from "@hono/zod-openapi";
import { CommandRequestSchema, LogFilterSchema } from "../gen/drover/node/v1/node_pb.ts";
import type {
  CommandResult,
  CommandRun,
  GpioCall,
  GpioResult,
  LogQuery,
  NodeDescription,
  NodeHealth,
  NodeLogLine,
  SystemMetricsInfo,
} from "../node/index.ts";
import { commandRunFromProto, logQueryFromProto } from "../wire/node.ts";

/**
 * The node functions' REST shapes (snake_case, RFC 3339 times) and the
 * conversions from lib/node's data. Requests are checked here for shape, then
 * by the same rules as over gRPC (lib/wire/node.ts), so both edges refuse the
 * same inputs with the same field names.
 */

const level = z.enum(["on", "off"]);

export const NodeSystemMetrics = z
  .object({
    cpu_usage: z.number().openapi({ description: "Percent of all cores over a short window" }),
    memory_usage: z.number().openapi({ description: "Percent" }),
    disk_usage: z.number().openapi({ description: "Percent of the root filesystem" }),
    memory_total_bytes: z.number().int(),
    memory_used_bytes: z.number().int(),
    disk_total_bytes: z.number().int(),
    disk_used_bytes: z.number().int(),
    load_average: z.array(z.number()).openapi({ description: "1, 5 and 15 minutes" }),
    uptime_seconds: z.number(),
    cpu_count: z.number().int(),
    network: z.array(
      z.object({
        name: z.string(),
        rx_bytes: z.number().int(),
        tx_bytes: z.number().int(),
        rx_packets: z.number().int(),
        tx_packets: z.number().int(),
        rx_errors: z.number().int(),
        tx_errors: z.number().int(),
      }),
    ),
    temperatures: z.array(z.object({ zone: z.string(), type: z.string(), celsius: z.number() })),
    throttling: z
      .object({
        raw: z.number().int(),
        under_voltage: z.boolean(),
        frequency_capped: z.boolean(),
        throttled: z.boolean(),
        soft_temperature_limit: z.boolean(),
        under_voltage_occurred: z.boolean(),
        frequency_capped_occurred: z.boolean(),
        throttled_occurred: z.boolean(),
        soft_temperature_limit_occurred: z.boolean(),
      })
      .optional()
      .openapi({ description: "A Raspberry Pi's `vcgencmd get_throttled`, decoded" }),
    timestamp: z.string().openapi({ description: "RFC 3339, on the agent's clock" }),
    hostname: z.string(),
  })
  .openapi("NodeSystemMetrics");

export function systemMetricsJson(m: SystemMetricsInfo): z.infer<typeof NodeSystemMetrics> {
  const t = m.throttling;
  return {
    cpu_usage: m.cpuUsage,
    memory_usage: m.memoryUsage,
    disk_usage: m.diskUsage,
    memory_total_bytes: m.memoryTotalBytes,
    memory_used_bytes: m.memoryUsedBytes,
    disk_total_bytes: m.diskTotalBytes,
    disk_used_bytes: m.diskUsedBytes,
    load_average: [...m.loadAverage],
    uptime_seconds: m.uptimeSeconds,
    cpu_count: m.cpuCount,
    network: m.network.map((n) => ({
      name: n.name,
      rx_bytes: n.rxBytes,
      tx_bytes: n.txBytes,
      rx_packets: n.rxPackets,
      tx_packets: n.txPackets,
      rx_errors: n.rxErrors,
      tx_errors: n.txErrors,
    })),
    temperatures: m.temperatures.map(({ zone, type, celsius }) => ({ zone, type, celsius })),
    ...(t === undefined
      ? {}
      : {
          throttling: {
            raw: t.raw,
            under_voltage: t.underVoltage,
            frequency_capped: t.frequencyCapped,
            throttled: t.throttled,
            soft_temperature_limit: t.softTemperatureLimit,
            under_voltage_occurred: t.underVoltageOccurred,
            frequency_capped_occurred: t.frequencyCappedOccurred,
            throttled_occurred: t.throttledOccurred,
            soft_temperature_limit_occurred: t.softTemperatureLimitOccurred,
          },
        }),
    timestamp: new Date(m.timestamp).toISOString(),
    hostname: m.hostname,
  };
}

export const NodeHealthStatus = z
  .object({
    status: z.literal("OK"),
    latency_ms: z.number().openapi({ description: "The round trip through the agent's session" }),
    version: z.string().openapi({ description: "The agent's Drover version" }),
    uptime_seconds: z.number().openapi({ description: "How long the agent has run" }),
  })
  .openapi("NodeHealthStatus");

export const nodeHealthJson = (h: NodeHealth): z.infer<typeof NodeHealthStatus> => ({
  status: h.status,
  latency_ms: h.latencyMs,
  version: h.version,
  uptime_seconds: h.uptimeSeconds,
});

export const NodeDescriptionJson = z
  .object({
    commands: z.array(
      z.object({
        name: z.string(),
        argv: z.array(z.string()).openapi({ description: "Run as is, without a shell" }),
        timeout_ms: z.number().int(),
        max_output_bytes: z.number().int().openapi({ description: "Per stream" }),
        arg_pattern: z
          .string()
          .optional()
          .openapi({ description: "Each extra argument must match it whole" }),
        max_args: z.number().int(),
      }),
    ),
    logs: z.array(z.string()).openapi({ description: "Names of the declared log files" }),
    gpio: z.array(
      z.object({
        name: z.string(),
        chip: z.string(),
        offset: z.number().int(),
        direction: z.enum(["input", "output"]),
        active_low: z.boolean(),
        bias: z.enum(["as-is", "pull-up", "pull-down", "disabled"]),
        initial: level.optional(),
        safe: level.optional(),
      }),
    ),
    journald: z.boolean().openapi({ description: "Whether the agent can read journald" }),
  })
  .openapi("NodeDescription");

export function nodeDescriptionJson(d: NodeDescription): z.infer<typeof NodeDescriptionJson> {
  return {
    commands: d.commands.map((c) => ({
      name: c.name,
      argv: c.argv,
      timeout_ms: c.timeoutMs,
      max_output_bytes: c.maxOutputBytes,
      ...(c.argPattern === undefined ? {} : { arg_pattern: c.argPattern }),
      max_args: c.maxArgs,
    })),
    logs: d.logs,
    gpio: d.gpio.map((l) => ({
      name: l.name,
      chip: l.chip,
      offset: l.offset,
      direction: l.direction,
      active_low: l.activeLow,
      bias: l.bias,
      ...(l.initial === undefined ? {} : { initial: l.initial }),
      ...(l.safe === undefined ? {} : { safe: l.safe }),
    })),
    journald: d.journald,
  };
}

export const NodeCommandRequest = z
  .strictObject({
    command: z.string().min(1).max(64).openapi({ description: "A command the agent declares" }),
    args: z
      .array(z.string().max(4096))
      .max(64)
      .optional()
      .openapi({ description: "Extra arguments; the declaration says which it accepts" }),
    timeout_seconds: z
      .number()
      .int()
      .min(1)
      .max(3600)
      .optional()
      .openapi({ description: "Shorter than the declared timeout only" }),
  })
  .openapi("NodeCommandRequest");

/** The body as an ExecuteCommand: the gRPC edge's checks, so both refuse alike. */
export const commandRunOf = (body: z.infer<typeof NodeCommandRequest>): CommandRun =>
  commandRunFromProto(
    create(CommandRequestSchema, {
      command: body.command,
      args: body.args ?? [],
      timeoutSeconds: body.timeout_seconds ?? 0,
    }),
  );

export const NodeCommandResult = z
  .object({
    exit_code: z.number().int(),
    stdout: z.string(),
    stderr: z.string(),
    timed_out: z.boolean(),
    stdout_truncated: z.boolean(),
    stderr_truncated: z.boolean(),
    duration_ms: z.number(),
    signal: z.string().optional().openapi({ description: "The signal that ended it, if one did" }),
  })
  .openapi("NodeCommandResult");

export const commandResultJson = (r: CommandResult): z.infer<typeof NodeCommandResult> => ({
  exit_code: r.exitCode,
  stdout: r.stdout,
  stderr: r.stderr,
  timed_out: r.timedOut,
  stdout_truncated: r.stdoutTruncated,
  stderr_truncated: r.stderrTruncated,
  duration_ms: r.durationMs,
  ...(r.signal === undefined ? {} : { signal: r.signal }),
});

export const GpioRequest = z
  .strictObject({
    action: z.enum(["set", "pulse", "get"]),
    level: level.optional().openapi({ description: "set: required; pulse: default on" }),
    duration_ms: z
      .number()
      .int()
      .min(1)
      .max(60_000)
      .optional()
      .openapi({ description: "pulse: required; then the line returns to its previous level" }),
  })
  .superRefine((body, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [path], message });
    if (body.action === "set" && body.level === undefined) issue("level", "set needs a level");
    if (body.action === "pulse" && body.duration_ms === undefined)
      issue("duration_ms", "pulse needs a duration");
    if (body.action !== "pulse" && body.duration_ms !== undefined)
      issue("duration_ms", "only a pulse has a duration");
    if (body.action === "get" && body.level !== undefined) issue("level", "get takes no level");
  })
  .openapi("GpioRequest");

export function gpioCallOf(line: string, body: z.infer<typeof GpioRequest>): GpioCall {
  if (body.action === "get") return { line, action: "get" };
  const driven = body.level ?? "on";
  if (body.action === "set") return { line, action: "set", level: driven };
  return { line, action: "pulse", level: driven, durationMs: body.duration_ms };
}

export const GpioState = z
  .object({
    line: z.string(),
    chip: z.string(),
    offset: z.number().int(),
    level: level.openapi({ description: "The logical level after the call" }),
  })
  .openapi("GpioState");

export const gpioStateJson = (r: GpioResult): z.infer<typeof GpioState> => ({
  line: r.line,
  chip: r.chip,
  offset: r.offset,
  level: r.level,
});

export const NodeLogsQuery = z.strictObject({
  unit: z.string().min(1).max(256).optional().openapi({ description: "A systemd unit (journald)" }),
  file: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .openapi({ description: "A declared log file's name, instead of journald" }),
  since: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .openapi({ description: "A duration back from now (`10m`) or an RFC 3339 time" }),
  priority: z.coerce
    .number()
    .int()
    .min(0)
    .max(7)
    .optional()
    .openapi({ description: "journald: this priority and more urgent (0 emerg … 7 debug)" }),
  lines: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(100)
    .openapi({ description: "At most this many past entries, the newest" }),
});

/** The query as a LogFilter read by the gRPC edge's rules (`since` parsed against `now`). */
export function logQueryOf(
  query: z.infer<typeof NodeLogsQuery>,
  now: Date,
  follow: boolean,
): LogQuery {
  return logQueryFromProto(
    create(LogFilterSchema, {
      unit: query.unit ?? "",
      file: query.file ?? "",
      since: query.since ?? "",
      priority: query.priority ?? 0,
      hasPriority: query.priority !== undefined,
      follow,
      lines: query.lines,
    }),
    now,
  );
}

export const NodeLogEntry = z
  .object({
    timestamp: z.string().openapi({ description: "RFC 3339" }),
    message: z.string(),
    source: z.string().openapi({ description: "The unit, or the declared file's name" }),
    priority: z.number().int().openapi({ description: "journald's; 6 (info) for file lines" }),
    hostname: z.string().optional(),
  })
  .openapi("NodeLogEntry");

export const logEntryJson = (line: NodeLogLine): z.infer<typeof NodeLogEntry> => ({
  timestamp: new Date(line.timestamp).toISOString(),
  message: line.message,
  source: line.source,
  priority: line.priority,
  ...(line.hostname === undefined ? {} : { hostname: line.hostname }),
});
