/**
 * StreamLogs on the agent: journald, or a log file the agent's config
 * declares, as one stream of NodeLogLine. The query is checked before
 * anything is read; the stream ends when the signal aborts or the consumer
 * stops iterating, and is bounded in rate so a runaway log cannot flood the
 * agent's session.
 */
import { DroverError, invalidField } from "../../errors/index.ts";
import type { AgentNodeConfig, LogQuery, NodeLogLine } from "../../node/types.ts";
import { type Clock, createTokenBucket, systemClock } from "../../time/index.ts";
import { readJournal } from "./journald.ts";
import { readLogFile } from "./log-file.ts";

export { journaldAvailable } from "./journald.ts";

// Backslash included: systemd escapes unit names (`dev-disk-by\\x2duuid.device`); argv, no shell.
const unitPattern = /^[A-Za-z0-9@._:\\-]{1,256}$/;
const maxLines = 10_000;

export interface StreamLogsOptions {
  signal: AbortSignal;
  /** The journalctl program; default `journalctl` (looked up on the minimal PATH). */
  journalctl?: string;
  /** How often a followed file is looked at; default 250 ms. */
  pollMs?: number;
  /** Put on file lines (journald entries carry their own). */
  hostname?: string;
  /** Past the backlog, lines beyond this rate are dropped and counted; default 1000. */
  maxLinesPerSecond?: number;
  /** Measures the rate bound and stamps file lines. */
  clock?: Clock;
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalidField(field, "must be a positive integer");
  }
  return value;
}

/** Refuses a query this agent cannot or may not serve; returns the declared file's path, if any. */
function checkLogQuery(config: AgentNodeConfig, query: LogQuery): string | undefined {
  if (!Number.isInteger(query.lines) || query.lines < 1 || query.lines > maxLines) {
    throw invalidField("lines", `must be an integer from 1 to ${maxLines}`);
  }
  if (query.file !== undefined) {
    // File lines have no unit, priority or timestamp of their own to filter by.
    for (const field of ["unit", "priority", "sinceMs"] as const) {
      if (query[field] !== undefined)
        throw invalidField(field, "applies to journald, not to a file");
    }
    const path = Object.hasOwn(config.logs, query.file) ? config.logs[query.file] : undefined;
    if (path === undefined) {
      throw new DroverError(
        "not_found",
        `no log file named ${JSON.stringify(query.file)} is declared in this agent's config`,
        { details: [{ field: "file", message: "not declared in this agent's config" }] },
      );
    }
    return path;
  }
  if (query.unit !== undefined && (!unitPattern.test(query.unit) || query.unit.startsWith("-"))) {
    throw invalidField("unit", "must be a systemd unit name (A-Z a-z 0-9 @ . _ : -)");
  }
  if (
    query.priority !== undefined &&
    (!Number.isInteger(query.priority) || query.priority < 0 || query.priority > 7)
  ) {
    throw invalidField("priority", "must be an integer from 0 (emerg) to 7 (debug)");
  }
  if (query.sinceMs !== undefined && (!Number.isFinite(query.sinceMs) || query.sinceMs < 0)) {
    throw invalidField("sinceMs", "must be a time in milliseconds since the epoch");
  }
  return undefined;
}

async function* fileLines(
  name: string,
  path: string,
  query: LogQuery,
  options: { signal: AbortSignal; pollMs: number; clock: Clock; hostname?: string },
): AsyncGenerator<NodeLogLine> {
  const { clock, hostname } = options;
  const lines = readLogFile(path, { ...options, name, lines: query.lines, follow: query.follow });
  for await (const message of lines) {
    yield {
      timestamp: clock.now().getTime(),
      message,
      source: name,
      priority: 6,
      ...(hostname === undefined ? {} : { hostname }),
    };
  }
}

/**
 * The requested backlog passes whole (it is bounded by `lines`); after it, at
 * most `perSecond` lines a second, and one notice of how many were dropped
 * before the next line that passes.
 */
async function* rateBounded(
  source: AsyncIterable<NodeLogLine>,
  options: { backlog: number; perSecond: number; clock: Clock; signal: AbortSignal },
): AsyncGenerator<NodeLogLine> {
  const { perSecond } = options;
  const bucket = createTokenBucket({ burst: perSecond, perSecond, clock: options.clock });
  let unmetered = options.backlog;
  let skipped = 0;
  let last: NodeLogLine | undefined;
  const notice = (line: NodeLogLine): NodeLogLine => ({
    ...line,
    message: `… ${skipped} lines skipped (more than ${perSecond} a second)`,
    priority: 4,
  });
  for await (const line of source) {
    last = line;
    if (unmetered > 0) {
      unmetered -= 1;
      yield line;
      continue;
    }
    if (!bucket.take()) {
      skipped += 1;
      continue;
    }
    if (skipped > 0) {
      yield notice(line);
      skipped = 0;
    }
    yield line;
  }
  if (skipped > 0 && last !== undefined && !options.signal.aborted) yield notice(last);
}

/**
 * The log lines a query asks for. Throws `invalid_argument` / `not_found`
 * at once for a bad query; reading starts on the first `next()`.
 */
export function streamNodeLogs(
  config: AgentNodeConfig,
  query: LogQuery,
  options: StreamLogsOptions,
): AsyncIterable<NodeLogLine> {
  const path = checkLogQuery(config, query);
  const pollMs = positiveInteger("pollMs", options.pollMs ?? 250);
  const perSecond = positiveInteger("maxLinesPerSecond", options.maxLinesPerSecond ?? 1000);
  const clock = options.clock ?? systemClock;
  const { signal } = options;
  const source =
    path === undefined || query.file === undefined
      ? readJournal(query, { journalctl: options.journalctl ?? "journalctl", signal })
      : fileLines(query.file, path, query, {
          signal,
          pollMs,
          clock,
          ...(options.hostname === undefined ? {} : { hostname: options.hostname }),
        });
  return rateBounded(source, { backlog: query.lines, perSecond, clock, signal });
}
