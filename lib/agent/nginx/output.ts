/** Pure readers of what nginx prints: `nginx -t` / error-log lines and stub_status. */
import { readNginxConf } from "../../nginx/index.ts";

const severe = /\[(emerg|alert|crit)\]\s*(?:\d+#\d+:\s*)?(.*)$/;

/**
 * The `[emerg]`, `[alert]` and `[crit]` lines of nginx's output (from
 * `nginx -t` or the error log), as `[level] message`, in order, without the
 * `nginx:` prefix, timestamps or `pid#tid:`. Duplicates are kept once.
 */
export function parseNginxErrors(output: string): string[] {
  const errors: string[] = [];
  for (const line of output.split(/\r?\n/)) {
    const match = severe.exec(line);
    if (!match) continue;
    const text = `[${match[1]}] ${(match[2] ?? "").trim()}`;
    if (!errors.includes(text)) errors.push(text);
  }
  return errors;
}

/**
 * nginx's diagnostics for configuration text someone sent (validate_config),
 * without what nginx quoted from any other file: nginx quotes the offending
 * token (`unknown directive "…" in FILE:LINE`), which for a file it read is
 * that file's content. A quoted string stays only when it is a word of the
 * text itself; the message, file and line stay.
 */
export function redactNginxDiagnostics(errors: readonly string[], text: string): string[] {
  const words = new Set<string>();
  try {
    for (const statement of readNginxConf(text)) {
      words.add(statement.name);
      for (const arg of statement.args) words.add(arg);
    }
  } catch {
    // Unreadable text: every quoted string goes.
  }
  return errors.map((line) =>
    line.replace(/"([^"]*)"/g, (quoted, inner: string) => (words.has(inner) ? quoted : '"…"')),
  );
}

export interface StubStatus {
  activeConnections: number;
  accepts: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

/** Parses ngx_http_stub_status_module's plain-text page; undefined when it is not one. */
export function parseStubStatus(text: string): StubStatus | undefined {
  const active = /Active connections:\s*(\d+)/.exec(text);
  const counters = /server accepts handled requests\s+(\d+)\s+(\d+)\s+(\d+)/.exec(text);
  const states = /Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/.exec(text);
  if (!active || !counters || !states) return undefined;
  return {
    activeConnections: Number(active[1]),
    accepts: Number(counters[1]),
    handled: Number(counters[2]),
    requests: Number(counters[3]),
    reading: Number(states[1]),
    writing: Number(states[2]),
    waiting: Number(states[3]),
  };
}
