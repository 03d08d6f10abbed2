/**
 * What system mode reads from a system nginx's main configuration (pure:
 * text in, facts out): where the master's pid file and error log are, whether
 * it daemonizes, and which `include` brings in the agent's fragment, so that
 * a test copy can include a staged fragment in its place.
 */
import { isAbsolute, join } from "node:path";
import { readNginxConf } from "../../nginx/index.ts";

export interface MainConfigInclude {
  /** Offsets of the whole statement (`include …;`) in the text. */
  start: number;
  end: number;
  /** Its pattern, absolute (relative ones resolve against the main configuration's directory). */
  pattern: string;
}

export interface MainConfigFacts {
  /** The main-context `pid`, as written; undefined when there is none. */
  pid?: string;
  /**
   * The first main-context `error_log` that names a file, as written; null
   * when they all log elsewhere (stderr, syslog:, memory:); undefined when
   * there is none.
   */
  errorLog?: string | null;
  /** `daemon off;`: nginx -c would run in the foreground. */
  daemonOff: boolean;
  /** Every `include`, in order, at any depth of this file (not of the files it includes). */
  includes: MainConfigInclude[];
}

/** Reads the facts; throws an Error where nginx would refuse to read the text. */
export function readMainConfig(text: string, confDir: string): MainConfigFacts {
  const facts: MainConfigFacts = { daemonOff: false, includes: [] };
  for (const statement of readNginxConf(text)) {
    const [first] = statement.args;
    if (first === undefined) continue;
    if (statement.name === "include" && statement.args.length === 1) {
      facts.includes.push({
        start: statement.start,
        end: statement.end,
        pattern: isAbsolute(first) ? first : join(confDir, first),
      });
    }
    if (statement.depth !== 0) continue;
    if (statement.name === "pid" && facts.pid === undefined) facts.pid = first;
    if (statement.name === "daemon" && first === "off") facts.daemonOff = true;
    if (statement.name === "error_log" && !facts.errorLog) {
      facts.errorLog = /^(stderr$|syslog:|memory:)/.test(first) ? null : first;
    }
  }
  return facts;
}

/** A pid or log path as nginx resolves it: relative ones against the prefix (not the conf dir). */
export function resolveFromPrefix(path: string, prefix: string): string {
  return isAbsolute(path) ? path : join(prefix, path);
}

/**
 * glob(3) on one path component, as nginx's include uses it: `*`, `?`,
 * `[…]` (with `!` or `^` negation and ranges) and `\` escapes; a leading
 * `.` only matches a literal one.
 */
export function globMatches(pattern: string, name: string): boolean {
  if (name.startsWith(".") && !pattern.startsWith(".")) return false;
  let source = "";
  for (let i = 0; i < pattern.length; i += 1) {
    const c = pattern[i] as string;
    if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "\\" && i + 1 < pattern.length) {
      i += 1;
      source += escapeRegExp(pattern[i] as string);
    } else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close === -1) {
        source += "\\[";
        continue;
      }
      let set = pattern.slice(i + 1, close);
      const negate = set.startsWith("!") || set.startsWith("^");
      if (negate) set = set.slice(1);
      source += `[${negate ? "^" : ""}${set.replace(/[\\\]^]/g, "\\$&")}]`;
      i = close;
    } else source += escapeRegExp(c);
  }
  return new RegExp(`^${source}$`).test(name);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** A path as a double-quoted nginx word: only `"` and `\` need escaping there. */
export function quotePath(path: string): string {
  return `"${path.replace(/["\\]/g, "\\$&")}"`;
}

/** The text with each of these includes replaced by `include "<dir>/<basename of its pattern>";`. */
export function redirectIncludes(
  text: string,
  includes: readonly MainConfigInclude[],
  dir: string,
): string {
  let out = "";
  let at = 0;
  for (const include of [...includes].sort((a, b) => a.start - b.start)) {
    const base = include.pattern.slice(include.pattern.lastIndexOf("/") + 1);
    out += `${text.slice(at, include.start)}include ${quotePath(`${dir}/${base}`)};`;
    at = include.end;
  }
  return out + text.slice(at);
}
