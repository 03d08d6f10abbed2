import { lineOf, type NginxStatement, readNginxConf } from "./parse.ts";

/**
 * Static roots: the directories an agent's machine declares nginx may serve
 * files from (`drover agent --static-root`). A location's `root` must lie in
 * one, the way remote execution runs only what the machine's own config
 * declares: otherwise nginx's workers would serve any directory their user
 * can read, the agent's keys included.
 */

/**
 * Whether `path` is one of `roots` or lies below one, on a separator
 * boundary (/srv/www holds /srv/www/a, not /srv/www2). Both sides are
 * normalized absolute paths (lib/nginx's file path grammar: no `.`, `..` or
 * empty segments), so comparing text is comparing paths.
 */
export function insideStaticRoot(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path === root || path.startsWith(`${root}/`));
}

/** Directives that make nginx serve files from a directory. */
const servingDirectives = new Set(["root", "alias"]);

/**
 * The `root`/`alias` directives of configuration text that name a directory
 * outside `roots` (or more or other than one plain path), one message each,
 * naming the line. Empty: the text serves files only from the roots.
 */
export function staticRootProblems(text: string, roots: readonly string[]): string[] {
  let statements: NginxStatement[];
  try {
    statements = readNginxConf(text);
  } catch (error) {
    return [`cannot be read as nginx configuration (${(error as Error).message})`];
  }
  const problems: string[] = [];
  for (const statement of statements) {
    if (!servingDirectives.has(statement.name)) continue;
    const line = lineOf(text, statement.start);
    const [path, ...rest] = statement.args;
    if (path === undefined || rest.length > 0 || path.includes("$")) {
      problems.push(`line ${line}: "${statement.name}" must name one directory, without variables`);
    } else if (!normalized(path) || !insideStaticRoot(path, roots)) {
      problems.push(
        roots.length === 0
          ? `line ${line}: "${statement.name} ${path}" serves files, and this agent declares no static root (--static-root)`
          : `line ${line}: "${statement.name} ${path}" is outside this agent's static roots (${roots.join(", ")})`,
      );
    }
  }
  return problems;
}

/** Absolute, without `.`, `..` or empty segments: a prefix comparison then means containment. */
function normalized(path: string): boolean {
  const parts = path.split("/");
  return (
    parts[0] === "" && parts.slice(1).every((part) => part !== "" && part !== "." && part !== "..")
  );
}
