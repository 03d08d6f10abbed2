import { constants } from "node:os";
import type { z } from "zod";
import { DroverError, isDroverError } from "../../lib/errors/index.ts";
import type { NodeCommandResult } from "../../lib/rest/node-schemas.ts";
import { parseDuration } from "../../lib/time/index.ts";
import { type Command, defineCommand } from "../command.ts";
import { outputFlag, outputOf, UsageError } from "../flags.ts";
import type { RestClient } from "../rest-client.ts";
import { followLogs, type LogEntryJson, logLine } from "./agents-logs-follow.ts";
import { metricsTable, type SystemMetricsJson } from "./agents-metrics-table.ts";
import { clientFor, restAuthFlag } from "./resources.ts";

/**
 * `drover agents metrics|ping|exec|logs|gpio`: the node functions of one
 * agent over REST (/v1/agents/{id}/…), as the logged-in user or, with
 * --data-dir, as the server's admin.
 */

const agentPath = (id: string, rest: string) => `/agents/${encodeURIComponent(id)}${rest}`;

/**
 * A 503 from a node function usually means the agent is not connected; the
 * agent's own record says whether that is it, and what to do about it.
 */
async function explainUnavailable(
  client: RestClient,
  id: string,
  error: unknown,
): Promise<unknown> {
  if (!isDroverError(error) || error.code !== "unavailable") return error;
  const agent = (await client.call("GET", agentPath(id, "")).catch(() => undefined)) as
    | { state?: string; hostname?: string; last_seen_at?: string | null }
    | undefined;
  if (agent?.state === undefined || agent.state === "online") return error;
  const where = agent.hostname ? agent.hostname : "its machine";
  return new DroverError(
    "unavailable",
    `agent ${id} is not connected (state ${agent.state}, last seen ${agent.last_seen_at ?? "never"}).\n` +
      `Start \`drover agent\` on ${where}, or mend its connection to the server; ` +
      "once `drover agents list` shows it online, run this again.",
  );
}

/** One node-function request, with the not-connected explanation. */
async function callNode(
  client: RestClient,
  id: string,
  method: string,
  rest: string,
  body?: unknown,
): Promise<unknown> {
  try {
    return await client.call(method, agentPath(id, rest), body);
  } catch (error) {
    throw await explainUnavailable(client, id, error);
  }
}

function positionalsOf(positionals: string[], min: number, max: number, usage: string): string[] {
  if (positionals.length < min || positionals.length > max) throw new UsageError(`give ${usage}`);
  return positionals;
}

const metrics = defineCommand(
  {
    summary: "the agent's system metrics, measured now: CPU, memory, disk, load, temperatures",
    details: "Reaches connected agents only. -o json prints REST's system-metrics object.",
    flags: { ...restAuthFlag, ...outputFlag },
    args: "ID",
    examples: [
      "drover agents metrics ag-0123456789ab",
      "drover agents metrics ag-0123456789ab -o json",
    ],
  },
  async ({ flags, positionals }, io) => {
    const [id] = positionalsOf(positionals, 1, 1, "exactly one agent ID") as [string];
    const output = outputOf(flags);
    const client = await clientFor(flags, io);
    const answer = (await callNode(client, id, "GET", "/system-metrics")) as SystemMetricsJson;
    io.stdout(
      output === "json" ? `${JSON.stringify(answer, null, 2)}\n` : `${metricsTable(answer)}\n`,
    );
    return 0;
  },
);

const ping = defineCommand(
  {
    summary: "a round trip to the agent through its session, with its latency",
    flags: restAuthFlag,
    args: "ID",
    examples: ["drover agents ping ag-0123456789ab"],
  },
  async ({ flags, positionals }, io) => {
    const [id] = positionalsOf(positionals, 1, 1, "exactly one agent ID") as [string];
    const client = await clientFor(flags, io);
    const answer = (await callNode(client, id, "GET", "/health-check")) as {
      latency_ms: number;
      version: string;
    };
    io.stdout(
      `agent ${id} answered in ${answer.latency_ms.toFixed(1)} ms (drover ${answer.version})\n`,
    );
    return 0;
  },
);

export type CommandResultJson = z.infer<typeof NodeCommandResult>;

/** Refusals of the request itself (not declared, arguments not allowed): exit 2, like a usage mistake. */
const refusals = new Set(["not_found", "invalid_argument", "permission_denied"]);

/** As a shell reports it: the exit code; 124 for a timeout (as timeout(1)); 128 + N for signal N. */
export function shellExitCode(result: CommandResultJson): number {
  if (result.timed_out) return 124;
  if (result.signal) {
    const number = constants.signals[result.signal as keyof typeof constants.signals];
    return number === undefined ? 1 : 128 + number;
  }
  return result.exit_code < 0 ? 1 : result.exit_code & 0xff;
}

const exec = defineCommand(
  {
    summary: "run a command the agent's config file declares; exits with its exit code",
    details:
      "Only commands the agent's own --config file declares run, with the arguments it allows " +
      "(GET /v1/agents/{id}/node lists them). " +
      "Put `--` before arguments that start with a dash. A refused command exits 2; " +
      "one killed at its timeout exits 124.",
    flags: {
      ...restAuthFlag,
      timeout: {
        kind: "string",
        value: "DURATION",
        help: "stop it sooner than its declared timeout (e.g. 5s)",
      },
    },
    args: "ID NAME [ARG]...",
    examples: [
      "drover agents exec ag-0123456789ab uptime",
      "drover agents exec ag-0123456789ab restart-app -- --now",
    ],
  },
  async ({ flags, positionals }, io) => {
    const [id, command, ...args] = positionalsOf(
      positionals,
      2,
      Infinity,
      "an agent ID and a command NAME",
    ) as [string, string, ...string[]];
    let timeoutSeconds: number | undefined;
    if (flags.timeout !== undefined) {
      const ms = parseDuration(flags.timeout);
      if (ms === undefined || ms === 0)
        throw new UsageError("--timeout takes a duration: 500ms, 5s, 2m");
      timeoutSeconds = Math.ceil(ms / 1000);
    }
    const client = await clientFor(flags, io);
    let result: CommandResultJson;
    try {
      result = (await callNode(client, id, "POST", "/exec", {
        command,
        args,
        ...(timeoutSeconds === undefined ? {} : { timeout_seconds: timeoutSeconds }),
      })) as CommandResultJson;
    } catch (error) {
      if (!isDroverError(error) || !refusals.has(error.code)) throw error;
      io.stderr(
        `error: agent ${id} refused ${command}: ${error.message}\n` +
          `Only what the agent's --config file declares runs; GET /v1/agents/${id}/node lists it.\n`,
      );
      return 2;
    }
    io.stdout(result.stdout);
    io.stderr(result.stderr);
    if (result.stdout_truncated)
      io.stderr(`\n[drover: stdout was cut at the command's output cap]\n`);
    if (result.stderr_truncated)
      io.stderr(`\n[drover: stderr was cut at the command's output cap]\n`);
    if (result.timed_out)
      io.stderr(
        `[drover: ${command} timed out after ${result.duration_ms} ms and was killed with its children]\n`,
      );
    else if (result.signal) io.stderr(`[drover: ${command} was ended by ${result.signal}]\n`);
    return shellExitCode(result);
  },
);

const logs = defineCommand(
  {
    summary: "journald entries or a declared log file of the agent; --follow keeps streaming",
    details:
      "Without --file: journald (optionally one --unit). With --file: a log file the agent's config declares, by name.",
    flags: {
      ...restAuthFlag,
      unit: { kind: "string", value: "U", help: "journald: only this systemd unit" },
      file: { kind: "string", value: "NAME", help: "a log file the agent's config declares" },
      since: { kind: "string", value: "10m|RFC3339", help: "only entries since then" },
      priority: { kind: "string", value: "0-7", help: "journald: this priority and more urgent" },
      lines: { kind: "string", value: "N", help: "at most this many past entries (default 100)" },
      follow: { kind: "boolean", help: "keep printing new entries until interrupted" },
    },
    args: "ID",
    examples: [
      "drover agents logs ag-0123456789ab --unit nginx --since 10m",
      "drover agents logs ag-0123456789ab --file app --follow",
    ],
  },
  async ({ flags, positionals }, io) => {
    const [id] = positionalsOf(positionals, 1, 1, "exactly one agent ID") as [string];
    if (flags.unit !== undefined && flags.file !== undefined)
      throw new UsageError("give --unit or --file, not both");
    const query = new URLSearchParams();
    for (const name of ["unit", "file", "since", "priority", "lines"] as const) {
      const value = flags[name];
      if (value !== undefined) query.set(name, value);
    }
    const client = await clientFor(flags, io);
    if (flags.follow) {
      const target = await client.socket(agentPath(id, `/system-logs/follow?${query}`));
      try {
        await followLogs(target, io.signal, (entry) => io.stdout(`${logLine(entry)}\n`));
      } catch (error) {
        throw await explainUnavailable(client, id, error);
      }
      return 0;
    }
    const answer = (await callNode(client, id, "GET", `/system-logs?${query}`)) as {
      entries: LogEntryJson[];
    };
    io.stdout(answer.entries.map((entry) => `${logLine(entry)}\n`).join(""));
    return 0;
  },
);

type GpioAnswer = { line: string; chip: string; offset: number; level: "on" | "off" };

const gpio = defineCommand(
  {
    summary: "read, set or pulse a GPIO line the agent's config file declares",
    details:
      "get prints the line's level (on or off); on and off drive it; pulse drives it on for DURATION, then back.",
    flags: restAuthFlag,
    args: "ID LINE get|on|off|pulse [DURATION]",
    examples: [
      "drover agents gpio ag-0123456789ab relay1 on",
      "drover agents gpio ag-0123456789ab relay1 pulse 500ms",
    ],
  },
  async ({ flags, positionals }, io) => {
    const [id, line, action, duration] = positionalsOf(
      positionals,
      3,
      4,
      "an agent ID, a LINE and get|on|off|pulse DURATION",
    ) as [string, string, string, string | undefined];
    let body: Record<string, unknown>;
    if (action === "pulse") {
      const ms = duration === undefined ? undefined : parseDuration(duration);
      if (ms === undefined || ms === 0) throw new UsageError("pulse takes a DURATION: 500ms, 2s");
      body = { action: "pulse", level: "on", duration_ms: ms };
    } else if (duration !== undefined) {
      throw new UsageError(`only pulse takes a DURATION, not ${action}`);
    } else if (action === "on" || action === "off") {
      body = { action: "set", level: action };
    } else if (action === "get") {
      body = { action: "get" };
    } else {
      throw new UsageError(`the action is get, on, off or pulse, not ${action}`);
    }
    const client = await clientFor(flags, io);
    const rest = `/gpio/${encodeURIComponent(line)}`;
    const answer = (
      action === "get"
        ? await callNode(client, id, "GET", rest)
        : await callNode(client, id, "POST", rest, body)
    ) as GpioAnswer;
    io.stdout(`${answer.level}\n`);
    if (action !== "get")
      io.stderr(`${answer.line} (${answer.chip} line ${answer.offset}) is ${answer.level}\n`);
    return 0;
  },
);

/** The node functions' commands, for the `drover agents` group. */
export const agentNodeCommands: Record<string, Command> = { metrics, ping, exec, logs, gpio };
