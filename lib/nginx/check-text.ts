import { dirname } from "node:path";
import { DroverError } from "../errors/index.ts";
import { allowedDirectives } from "./directives.ts";
import { checkFilePath } from "./grammar.ts";
import type { NginxLayout } from "./model.ts";
import { lineOf, type NginxStatement, readNginxConf } from "./parse.ts";
import { insideStaticRoot } from "./static-roots.ts";

/**
 * What configuration text an agent's `nginx -t` may be given
 * (validate_config): only what the compiler itself writes. `nginx -t` opens
 * every file the text names — it reads includes and certificates, creates
 * logs, pid and temp directories, dlopen()s modules — as the agent's user,
 * so text from outside is held to the compiler's directive set, and every
 * path in it to the agent's own directories.
 */
export interface NginxTextPolicy {
  layout: NginxLayout;
  /** Directories nginx may read files from (ssl_certificate, ssl_certificate_key). */
  readRoots: string[];
  /** Directories nginx may create files in (pid, error_log, access_log, *_temp_path). */
  writeRoots: string[];
  /** The only files `include` may name, exactly (the agent's mime.types). */
  includes: string[];
  /** Directories `root` may name (the agent's --static-root); none: no `root` at all. */
  staticRoots: readonly string[];
}

/** The paths an agent announces in its session hello (lib/delivery's NginxRuntimeInfo). */
export interface NginxTextPaths {
  layout: NginxLayout;
  /** Where delivered files (certificates, keys) live. */
  fileRoot: string;
  pidPath?: string;
  errorLogPath?: string;
  tempDir?: string;
  accessLogPath?: string;
  mimeTypesPath?: string;
  /** The agent's declared static roots; absent: none. */
  staticRoots?: readonly string[];
}

/** The policy for an agent's paths; the server (from the hello) and the agent compute the same one. */
export function nginxTextPolicy(paths: NginxTextPaths): NginxTextPolicy {
  const writeRoots = new Set<string>();
  for (const file of [paths.pidPath, paths.errorLogPath, paths.accessLogPath]) {
    if (file !== undefined) writeRoots.add(dirname(file));
  }
  if (paths.tempDir !== undefined) writeRoots.add(paths.tempDir);
  return {
    layout: paths.layout,
    readRoots: [paths.fileRoot],
    writeRoots: [...writeRoots],
    includes: paths.mimeTypesPath === undefined ? [] : [paths.mimeTypesPath],
    staticRoots: paths.staticRoots ?? [],
  };
}

type ArgsCheck = (statement: NginxStatement, policy: NginxTextPolicy) => string | undefined;

const none: ArgsCheck = () => undefined;

function inside(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path.startsWith(root.endsWith("/") ? root : `${root}/`));
}

/** Absolute, no `.`/`..`/`$`/quotes (lib/nginx's file path grammar), under one of the roots. */
function pathProblem(path: string | undefined, roots: readonly string[]): string | undefined {
  if (path === undefined) return "needs a path";
  try {
    checkFilePath("path", path);
  } catch {
    return `path ${JSON.stringify(path)} must be absolute, of letters, digits and '._~+@=,-', without '.' or '..' segments`;
  }
  if (!inside(path, roots)) {
    return roots.length === 0
      ? "names a file, and this agent has no directory for it"
      : `path ${path} is outside the agent's directories (${roots.join(", ")})`;
  }
  return undefined;
}

const writes =
  (extra: (args: string[]) => boolean): ArgsCheck =>
  (statement, policy) =>
    pathProblem(statement.args[0], policy.writeRoots) ??
    (extra(statement.args.slice(1)) ? undefined : "takes a path and no other parameters here");

const reads: ArgsCheck = (statement, policy) =>
  statement.args.length === 1
    ? pathProblem(statement.args[0], policy.readRoots)
    : "takes exactly one path";

const levels = new Set(["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"]);
const word = /^[A-Za-z0-9_]+$/;

/** A listen address or upstream server naming a Unix socket makes nginx create or open a file. */
const noUnixSocket: ArgsCheck = (statement) =>
  statement.args.some((arg) => /(^|\/\/)unix:/i.test(arg))
    ? "must not name a Unix socket"
    : undefined;

/**
 * The directives compileNginxConfig writes (and the custom directives a
 * model may set), each with what its parameters may name. Anything else —
 * include of other files, load_module, lua/perl/njs, ssl_* files outside the
 * agent's directory — is refused.
 */
const rules: Readonly<Record<string, ArgsCheck>> = {
  user: (s) =>
    s.args.length === 1 && /^[a-z_][a-z0-9_-]{0,31}$/.test(s.args[0] as string)
      ? undefined
      : "takes one user name",
  worker_processes: (s) =>
    s.args.length === 1 && /^(auto|[1-9][0-9]{0,3})$/.test(s.args[0] as string)
      ? undefined
      : "takes auto or a number",
  pid: writes((rest) => rest.length === 0),
  error_log: (s, policy) =>
    s.args[0] === "stderr"
      ? undefined
      : writes((rest) => rest.length <= 1 && rest.every((level) => levels.has(level)))(s, policy),
  access_log: (s, policy) =>
    s.args.length === 1 && s.args[0] === "off"
      ? undefined
      : writes((rest) => rest.length <= 1 && rest.every((format) => word.test(format)))(s, policy),
  client_body_temp_path: writes((rest) => rest.every((level) => /^[12]$/.test(level))),
  proxy_temp_path: writes((rest) => rest.every((level) => /^[12]$/.test(level))),
  fastcgi_temp_path: writes((rest) => rest.every((level) => /^[12]$/.test(level))),
  uwsgi_temp_path: writes((rest) => rest.every((level) => /^[12]$/.test(level))),
  scgi_temp_path: writes((rest) => rest.every((level) => /^[12]$/.test(level))),
  include: (s, policy) =>
    s.args.length === 1 && policy.includes.includes(s.args[0] as string)
      ? undefined
      : policy.includes.length === 0
        ? "is not allowed"
        : `may name only ${policy.includes.join(", ")}`,
  ssl_certificate: reads,
  ssl_certificate_key: reads,
  // Not opened by `nginx -t`, but served: only inside the agent's declared static roots.
  root: (s, policy) => {
    if (s.args.length !== 1) return "takes one path";
    const path = s.args[0] as string;
    const problem = pathProblem(path, ["/"]);
    if (problem !== undefined || insideStaticRoot(path, policy.staticRoots)) return problem;
    return policy.staticRoots.length === 0
      ? "serves files, and this agent declares no static root (--static-root)"
      : `path ${path} is outside the agent's static roots (${policy.staticRoots.join(", ")})`;
  },
  listen: noUnixSocket,
  server: noUnixSocket,
  proxy_pass: noUnixSocket,
  events: none,
  worker_connections: none,
  http: none,
  default_type: none,
  server_tokens: none,
  server_names_hash_bucket_size: none,
  server_names_hash_max_size: none,
  proxy_headers_hash_bucket_size: none,
  log_format: none,
  ssl_protocols: none,
  ssl_reject_handshake: none,
  proxy_set_header: none,
  proxy_http_version: none,
  add_header: none,
  server_name: none,
  return: none,
  location: none,
  index: none,
  stub_status: none,
  allow: none,
  deny: none,
  upstream: none,
  least_conn: none,
  ip_hash: none,
  hash: none,
  keepalive: none,
  rewrite: none,
  http2: none,
  ...Object.fromEntries(allowedDirectives.map((name) => [name, none])),
};

/** Main-context statements: the include layout is an http-level fragment and has none. */
const mainOnly = new Set(["user", "worker_processes", "pid", "events", "http"]);

/**
 * Refuses configuration text that the agent's `nginx -t` should not see:
 * text nginx cannot read, a directive the compiler never writes, or a path
 * outside the agent's directories. Throws DroverError invalid_argument on
 * field `config_text`, naming the directive and its line.
 */
export function checkNginxText(text: string, policy: NginxTextPolicy): void {
  let statements: NginxStatement[];
  try {
    statements = readNginxConf(text);
  } catch (error) {
    const message = (error as Error).message.replace(
      / at (\d+)$/,
      (_, offset: string) => ` on line ${lineOf(text, Number(offset))}`,
    );
    throw refusal(`cannot be read as nginx configuration (${message})`);
  }
  for (const statement of statements) {
    const where = `line ${lineOf(text, statement.start)}: "${statement.name}"`;
    const rule = Object.hasOwn(rules, statement.name) ? rules[statement.name] : undefined;
    if (rule === undefined) {
      throw refusal(`${where} is not allowed (only the directives Drover's compiler writes are)`);
    }
    if (policy.layout === "include" && statement.depth === 0 && mainOnly.has(statement.name)) {
      throw refusal(`${where} is not allowed in an http-level fragment`);
    }
    const problem = rule(statement, policy);
    if (problem !== undefined) throw refusal(`${where} ${problem}`);
  }
}

function refusal(message: string): DroverError {
  return new DroverError("invalid_argument", `config_text: ${message}`, {
    details: [{ field: "config_text", message }],
  });
}
