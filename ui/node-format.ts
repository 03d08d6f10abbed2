import type { ApiProblem } from "./api-error.ts";
import type { NodeCommandResult, NodeLogEntry, ThrottlingFlags } from "./node-types.ts";

/** "3 d 4 h" style text for an uptime in seconds: the two largest units. */
export function uptimeText(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const parts: [number, string][] = [
    [Math.floor(total / 86_400), "d"],
    [Math.floor((total % 86_400) / 3600), "h"],
    [Math.floor((total % 3600) / 60), "min"],
    [total % 60, "s"],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  if (first === -1) return "0 s";
  return parts
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value} ${unit}`)
    .join(" ");
}

const throttlingNames: [keyof ThrottlingFlags, string][] = [
  ["under_voltage", "under-voltage"],
  ["frequency_capped", "frequency capped"],
  ["throttled", "throttled"],
  ["soft_temperature_limit", "soft temperature limit"],
];

/** What `vcgencmd get_throttled` said, in words: now, then since boot; "none" when all clear. */
export function throttlingText(flags: ThrottlingFlags): string {
  const now = throttlingNames.filter(([key]) => flags[key]).map(([, name]) => `${name} now`);
  const since = throttlingNames
    .filter(([key]) => flags[`${key}_occurred` as keyof ThrottlingFlags])
    .map(([, name]) => `${name} since boot`);
  return [...now, ...since].join(", ") || "none";
}

/** What a failed node-function call means for the person, before the server's own words. */
const meanings: Record<number, string> = {
  0: "The server cannot be reached",
  403: "Your role does not allow this",
  404: "The agent's config does not declare this",
  409: "The agent cannot do this (too old for it?)",
  429: "Too many commands and GPIO calls for this agent: wait a few seconds",
  503: "The agent is not connected or did not answer in time",
};

export function nodeProblemText(problem: ApiProblem): string {
  const meaning = meanings[problem.status];
  const details = problem.details.map((detail) =>
    detail.field ? `${detail.field}: ${detail.message}` : detail.message,
  );
  const said = [problem.message, ...details].join("; ");
  return meaning ? `${meaning} (${said}).` : said;
}

/** The newest `cap` of `shown` followed by `more`: a followed log keeps a bounded screen. */
export function appendCapped<T>(shown: readonly T[], more: readonly T[], cap: number): T[] {
  const all = [...shown, ...more];
  return all.length > cap ? all.slice(all.length - cap) : all;
}

/** The extra arguments typed for a command: words separated by white space (no shell quoting). */
export function splitArguments(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== "");
}

/** A log source chosen in the viewer: journald (optionally one unit) or a declared file. */
export type LogSource = { kind: "journald"; unit: string } | { kind: "file"; name: string };

/** The query of `…/system-logs` and `…/system-logs/follow` for a source and a line count. */
export function logQuery(source: LogSource, lines: number): string {
  const query = new URLSearchParams();
  if (source.kind === "file") query.set("file", source.name);
  else if (source.unit.trim() !== "") query.set("unit", source.unit.trim());
  query.set("lines", String(lines));
  return query.toString();
}

const priorities = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

/** One log line as the viewer shows it: local time, source, priority when not info, message. */
export function logLineText(entry: NodeLogEntry): string {
  const time = new Date(entry.timestamp).toLocaleTimeString();
  const priority = entry.priority === 6 ? "" : ` ${priorities[entry.priority] ?? entry.priority}`;
  return `${time} ${entry.source}${priority}: ${entry.message}`;
}

/** "exited with 0 in 12 ms", with the flags a person must not miss. */
export function commandOutcome(result: NodeCommandResult): string {
  const ended = result.signal ? `was ended by ${result.signal}` : `exited with ${result.exit_code}`;
  const flags = [
    result.timed_out ? "timed out" : "",
    result.stdout_truncated ? "stdout truncated" : "",
    result.stderr_truncated ? "stderr truncated" : "",
  ].filter(Boolean);
  const duration = `in ${Math.round(result.duration_ms)} ms`;
  return [`${ended} ${duration}`, ...flags].join(", ");
}
