import { invalidField, isDroverError } from "../errors/index.ts";
import { checkArray } from "./grammar.ts";
import type {
  NginxCompileOptions,
  NginxCompileResult,
  NginxHostOutcome,
  NginxModel,
  NginxUpstreamOutcome,
} from "./model.ts";
import { arg, quote } from "./quote.ts";
import {
  type CheckedGlobal,
  type CheckedHost,
  type CheckedLocation,
  type CheckedServer,
  type CheckedUpstream,
  checkGlobal,
  checkHost,
  checkOptions,
  checkUpstream,
} from "./validate.ts";

/** Where the loopback-only listener serves stub_status. */
/** Where ACME HTTP-01 challenges are fetched (RFC 8555 §8.3). */
export const ACME_CHALLENGE_PATH = "/.well-known/acme-challenge/";

export const STUB_STATUS_PATH = "/stub_status";

/** The file an include-layout compile writes: the one file the agent owns in the system's conf dir. */
export const NGINX_INCLUDE_FILE = "drover.conf";

/** TLS versions every TLS server accepts. */
const SSL_PROTOCOLS = ["TLSv1.2", "TLSv1.3"];

/** The log_format name of the JSON access log. */
export const ACCESS_LOG_FORMAT = "drover_json";

/**
 * The access log's JSON fields, in order, and the nginx variable of each.
 * Every value is a JSON string (escape=json): the agent parses the numbers
 * (status, body_bytes_sent, request_length, request_time in seconds with ms
 * resolution). request_length (request line, headers and body) is what
 * bandwidth.in_bytes sums.
 */
export const ACCESS_LOG_FIELDS: ReadonlyArray<readonly [field: string, variable: string]> = [
  ["time", "$time_iso8601"],
  ["remote_addr", "$remote_addr"],
  ["method", "$request_method"],
  ["uri", "$request_uri"],
  ["protocol", "$server_protocol"],
  ["host", "$host"],
  ["status", "$status"],
  ["body_bytes_sent", "$body_bytes_sent"],
  ["request_length", "$request_length"],
  ["request_time", "$request_time"],
  ["user_agent", "$http_user_agent"],
  ["referer", "$http_referer"],
  ["request_id", "$request_id"],
  ["upstream_addr", "$upstream_addr"],
];

/**
 * Request headers every proxied request carries; a location's "request"
 * header of the same name (case-insensitive) replaces one.
 */
export const DEFAULT_PROXY_HEADERS: ReadonlyArray<readonly [name: string, value: string]> = [
  ["Host", "$host"],
  ["X-Real-IP", "$remote_addr"],
  ["X-Forwarded-For", "$proxy_add_x_forwarded_for"],
  ["X-Forwarded-Proto", "$scheme"],
  ["X-Request-ID", "$request_id"],
];

/** The name nginx knows an upstream by: the `_` keeps it apart from every DNS name. */
export function nginxUpstreamName(upstreamId: string): string {
  return `drover_${upstreamId}`;
}

const INDENT = "    ";

interface Problem {
  reason: string;
  field?: string;
}

function problemOf(error: unknown): Problem {
  if (!isDroverError(error)) throw error;
  const field = error.details[0]?.field;
  return field === undefined ? { reason: error.message } : { reason: error.message, field };
}

/** An upstream after resolution: what will be emitted, or why it cannot be. */
interface PlannedUpstream {
  checked: CheckedUpstream;
  name: string;
  servers: CheckedServer[];
  skipped: string[];
  markedDown: string[];
  unusable?: Problem;
}

interface PlannedHost {
  host: CheckedHost;
  /** First host on a QUIC port: carries `reuseport`, which nginx takes once per port. */
  quicReuseport: boolean;
}

/**
 * Compiles the model into a complete nginx.conf (options.layout "main") or
 * into drover.conf, a fragment for the http {} block of a system nginx
 * ("include"). Pure: the same model and options give the same bytes, and the
 * only view of the machine is through options (certificateAvailable,
 * resolvable, downServers).
 *
 * The include layout writes no main or events context, no runtime paths, no
 * default_type or server_tokens: the system's nginx.conf has them. At http
 * level it writes only what it must or what cannot clash: upstreams (named
 * drover_*), servers, the status server, `log_format drover_json` (when
 * global.accessLogPath is set) and server_names_hash_* (only when a size
 * exceeds nginx's default; a system nginx.conf that sets it too makes nginx
 * refuse the pair as "duplicate"). What main layout sets at http level for
 * every host goes into each of its server blocks instead, so that it neither
 * clashes nor reaches the system's own sites: `ssl_protocols` (Debian's
 * nginx.conf sets it at http level; each TLS server overrides it, though on a
 * port shared with a system TLS server the port's default server decides),
 * `access_log`, the default proxy_set_header lines and global.directives.
 * Default servers only with options.defaultServers true.
 *
 * Throws a DroverError invalid_argument naming the field for input nginx
 * would refuse or misread (with options.invalid "set_aside", only for global
 * settings, options and duplicate ids). Hosts that cannot be served on this
 * machine right now — certificate files missing, a proxied host name that
 * does not resolve, an upstream left without servers, a port or name already
 * taken — are set aside with a reason while the others compile.
 */
export function compileNginxConfig(
  model: NginxModel,
  options: NginxCompileOptions,
): NginxCompileResult {
  checkOptions(options);
  if (model === null || typeof model !== "object") throw invalidField("model", "must be an object");
  const global = checkGlobal(model.global);
  const setAsideInvalid = options.invalid === "set_aside";

  // Upstreams: check, then resolve their servers.
  const upstreamsIn = model.upstreams ?? [];
  checkArray("upstreams", upstreamsIn, 10_000);
  const upstreamIds = new Set<string>();
  const upstreams = new Map<string, PlannedUpstream | Problem>();
  upstreamsIn.forEach((upstream, i) => {
    const id = (upstream as { id?: unknown } | null)?.id;
    if (typeof id === "string" && upstreamIds.has(id)) {
      throw invalidField(`upstreams.${i}.id`, `duplicates upstream ${id}`);
    }
    let checked: CheckedUpstream;
    try {
      checked = checkUpstream(`upstreams.${i}`, upstream);
    } catch (error) {
      if (!setAsideInvalid || typeof id !== "string") throw error;
      upstreamIds.add(id);
      upstreams.set(id, problemOf(error));
      return;
    }
    upstreamIds.add(checked.id);
    upstreams.set(checked.id, planUpstream(checked, `upstreams.${i}`, options));
  });

  // Virtual hosts: check in the order given (the first error is the first in the model).
  const hostsIn = model.virtualHosts;
  checkArray("virtual_hosts", hostsIn, 100_000);
  const hostIds = new Set<string>();
  const checkedHosts: Array<{ host: CheckedHost; field: string }> = [];
  const outcomes = new Map<string, NginxHostOutcome>();
  hostsIn.forEach((host, i) => {
    const id = (host as { id?: unknown } | null)?.id;
    if (typeof id === "string" && hostIds.has(id)) {
      throw invalidField(`virtual_hosts.${i}.id`, `duplicates virtual host ${id}`);
    }
    try {
      const checked = checkHost(`virtual_hosts.${i}`, host, upstreamIds);
      hostIds.add(checked.id);
      checkedHosts.push({ host: checked, field: `virtual_hosts.${i}` });
    } catch (error) {
      if (!setAsideInvalid || typeof id !== "string") throw error;
      hostIds.add(id);
      outcomes.set(id, { id, status: "set_aside", ...problemOf(error) });
    }
  });

  // Which hosts this machine can serve. Ports and names go to the host listed
  // first, so listing the oldest first keeps existing hosts up when a new one clashes.
  const planned: PlannedHost[] = [];
  const portTls = new Map<number, { tls: boolean; by: string }>();
  const portNames = new Map<string, string>();
  const quicPorts = new Set<number>();
  for (const { host, field } of checkedHosts) {
    const problem = servable(host, upstreams, options) ?? claim(host, portTls, portNames);
    if (problem) {
      const at = problem.field === undefined ? {} : { field: `${field}.${problem.field}` };
      outcomes.set(host.id, { id: host.id, status: "set_aside", reason: problem.reason, ...at });
      continue;
    }
    const notes: string[] = [];
    if (host.http2 && !host.tls) {
      notes.push("http2 needs TLS: served as HTTP/1.1");
    }
    let quicReuseport = false;
    if (host.http3) {
      if (options.supportsHttp3) {
        quicReuseport = !quicPorts.has(host.listenPort);
        quicPorts.add(host.listenPort);
      } else {
        notes.push("http3 is not supported by this nginx: served over TCP only");
      }
    }
    for (const location of host.locations) {
      if (location.target.kind !== "upstream") continue;
      const upstream = upstreams.get(location.target.upstreamId) as PlannedUpstream;
      if (upstream.skipped.length > 0) {
        notes.push(
          `upstream ${upstream.checked.id}: left out ${upstream.skipped.join(", ")} (not resolvable)`,
        );
      }
    }
    planned.push({ host, quicReuseport });
    outcomes.set(host.id, { id: host.id, status: "applied", notes: [...new Set(notes)] });
  }

  planned.sort((a, b) => compare(a.host.id, b.host.id));
  const used = new Set<string>();
  for (const { host } of planned) {
    for (const location of host.locations) {
      if (location.target.kind === "upstream") used.add(location.target.upstreamId);
    }
  }
  const content = emit(global, planned, upstreams, used, options);

  const upstreamOutcomes: NginxUpstreamOutcome[] = [...upstreams.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([id, plan]): NginxUpstreamOutcome => {
      if (!("checked" in plan)) return { id, status: "set_aside", ...plan };
      if (plan.unusable) return { id, status: "set_aside", ...plan.unusable };
      if (!used.has(id)) return { id, status: "unused" };
      return {
        id,
        status: "applied",
        name: plan.name,
        skippedServers: plan.skipped,
        markedDown: plan.markedDown,
      };
    });

  return {
    files: [{ path: options.layout === "include" ? NGINX_INCLUDE_FILE : "nginx.conf", content }],
    hosts: [...outcomes.values()].sort((a, b) => compare(a.id, b.id)),
    upstreams: upstreamOutcomes,
  };
}

/** `port`, or `address:port` when the agent binds one address (IPv6 bracketed). */
function listenOn(options: NginxCompileOptions, port: number): string {
  const address = options.listenAddress;
  if (address === undefined) return String(port);
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Code-unit order: the same everywhere, unlike localeCompare. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An upstream's emitted servers: resolvable ones, with the agent's down marks. */
function planUpstream(
  checked: CheckedUpstream,
  field: string,
  options: NginxCompileOptions,
): PlannedUpstream {
  const down = new Set(
    Object.hasOwn(options.downServers ?? {}, checked.id)
      ? (options.downServers?.[checked.id] ?? [])
      : [],
  );
  const skipped: string[] = [];
  const markedDown: string[] = [];
  const servers: CheckedServer[] = [];
  for (const server of checked.servers) {
    if (!server.host.ip && !options.resolvable(server.host.host)) {
      skipped.push(server.address);
      continue;
    }
    if (down.has(server.address)) {
      if (!markedDown.includes(server.address)) markedDown.push(server.address);
      servers.push({ ...server, down: true });
    } else {
      servers.push(server);
    }
  }
  const plan: PlannedUpstream = {
    checked,
    name: nginxUpstreamName(checked.id),
    servers,
    skipped,
    markedDown,
  };
  if (!servers.some((server) => !server.backup)) {
    plan.unusable = {
      reason: `upstream ${checked.id}: no server that is not a backup resolves (left out: ${skipped.join(", ")})`,
      field: `${field}.servers`,
    };
  }
  return plan;
}

/** Why this machine cannot serve the host now, if it cannot. */
function servable(
  host: CheckedHost,
  upstreams: ReadonlyMap<string, PlannedUpstream | Problem>,
  options: NginxCompileOptions,
): Problem | undefined {
  if (host.listenPort === options.statusPort) {
    return {
      reason: `port ${host.listenPort} is the agent's status port`,
      field: "listen_port",
    };
  }
  if (host.tls && !options.certificateAvailable(host.tls)) {
    return {
      reason: `certificate ${host.tls.certificateId} is not available (${host.tls.certificatePath}, ${host.tls.keyPath})`,
      field: "tls.certificate_id",
    };
  }
  for (const [i, location] of host.locations.entries()) {
    const target = location.target;
    if (target.kind === "proxy" && !target.ip && !options.resolvable(target.host)) {
      return {
        reason: `location ${location.path}: host ${target.host} does not resolve`,
        field: `locations.${i}.proxy_pass`,
      };
    }
    if (target.kind === "upstream") {
      const upstream = upstreams.get(target.upstreamId);
      const problem =
        upstream === undefined || !("checked" in upstream) ? upstream : upstream.unusable;
      if (problem) {
        return {
          reason: `location ${location.path}: upstream ${target.upstreamId} cannot be used: ${problem.reason}`,
          field: `locations.${i}.upstream_id`,
        };
      }
    }
  }
  return undefined;
}

/**
 * Claims the host's port and names. nginx turns a port TLS for every server
 * on it if one server says `ssl`, and keeps only the first server of a name on
 * a port; the host listed later in the model is set aside instead.
 */
function claim(
  host: CheckedHost,
  portTls: Map<number, { tls: boolean; by: string }>,
  portNames: Map<string, string>,
): Problem | undefined {
  const tls = host.tls !== null;
  const mode = portTls.get(host.listenPort);
  if (mode && mode.tls !== tls) {
    return {
      reason: `port ${host.listenPort} serves ${mode.tls ? "TLS" : "plain HTTP"} (host ${mode.by}); this host wants ${tls ? "TLS" : "plain HTTP"}`,
      field: "listen_port",
    };
  }
  const keys = host.serverNames.map((name) => `${host.listenPort} ${name.toLowerCase()}`);
  for (const [i, key] of keys.entries()) {
    const by = portNames.get(key);
    if (by !== undefined) {
      return {
        reason: `server name ${host.serverNames[i]} on port ${host.listenPort} is already served by host ${by}`,
        field: `server_names.${i}`,
      };
    }
  }
  if (!mode) portTls.set(host.listenPort, { tls, by: host.id });
  for (const key of keys) portNames.set(key, host.id);
  return undefined;
}

// Output

/** nginx's hash element size for a key of `length` bytes (NGX_HASH_ELT_SIZE, 64-bit). */
function hashElement(length: number): number {
  return 8 + Math.ceil((length + 2) / 8) * 8;
}

/** The longest name of a request header the host's locations set. */
function longestRequestHeader(host: CheckedHost): number {
  let longest = 0;
  for (const location of host.locations) {
    for (const header of location.headers) {
      if (header.direction === "request") longest = Math.max(longest, header.name.length);
    }
  }
  return longest;
}

/** proxy_headers_hash_bucket_size that holds a header name of this length. */
function proxyHeadersBucket(longestHeader: number): number {
  return powerOfTwoAtLeast(hashElement(longestHeader) + 8);
}

function powerOfTwoAtLeast(value: number): number {
  let out = 1;
  while (out < value) out *= 2;
  return out;
}

const indents = [0, 1, 2, 3].map((depth) => INDENT.repeat(depth));

function directive(out: string[], depth: number, name: string, ...args: string[]): void {
  out.push(`${indents[depth]}${args.length === 0 ? name : `${name} ${args.join(" ")}`};`);
}

function open(out: string[], depth: number, head: string): void {
  out.push(`${indents[depth]}${head} {`);
}

function close(out: string[], depth: number): void {
  out.push(`${indents[depth]}}`);
}

function emitDirectives(out: string[], depth: number, directives: Array<[string, string]>): void {
  for (const [name, value] of directives) directive(out, depth, name, value);
}

/**
 * What the include layout sets in each of its server blocks rather than at
 * http level, where it would clash with the system nginx.conf's own
 * (`duplicate` errors) or change the system's other sites.
 */
interface PerServer {
  /** The access log, when global.accessLogPath is set. */
  accessLog: string | null;
  /** global.directives. */
  directives: Array<[string, string]>;
}

function emit(
  global: CheckedGlobal,
  hosts: readonly PlannedHost[],
  upstreams: ReadonlyMap<string, PlannedUpstream | Problem>,
  used: ReadonlySet<string>,
  options: NginxCompileOptions,
): string {
  const include = options.layout === "include";
  const out: string[] = [
    "# Generated by Drover (lib/nginx) from the fleet's desired configuration.",
    "# Do not edit: the agent replaces this file on every change.",
  ];
  if (include) {
    out.push("# An http-level fragment: the system nginx includes it inside its http {} block.");
    if (global.env.length > 0) {
      // `env` is main-context only, and a system nginx's main context is its own.
      const names = global.env.map(([name]) => name).join(", ");
      out.push(`# Not applied (main context, owned by the system nginx): env ${names}.`);
    }
  }
  out.push("");
  // Depth of http-level statements: inside `http {}`, or the fragment's top level.
  const h = include ? 0 : 1;
  if (!include) {
    const runtime = options.runtime ?? {};
    if (runtime.user !== undefined) directive(out, 0, "user", runtime.user);
    directive(out, 0, "worker_processes", String(global.workerProcesses));
    for (const [name, value] of global.env) directive(out, 0, "env", quote(`${name}=${value}`));
    if (runtime.pidPath !== undefined) directive(out, 0, "pid", arg(runtime.pidPath));
    if (runtime.errorLogPath !== undefined) {
      directive(out, 0, "error_log", arg(runtime.errorLogPath));
    }
    out.push("");
    open(out, 0, "events");
    directive(out, 1, "worker_connections", String(global.workerConnections));
    close(out, 0);
    out.push("");
    open(out, 0, "http");
    if (runtime.mimeTypesPath !== undefined) {
      directive(out, 1, "include", arg(runtime.mimeTypesPath));
    }
    directive(out, 1, "default_type", "application/octet-stream");
    directive(out, 1, "server_tokens", "off");
    if (runtime.tempDir !== undefined) {
      for (const kind of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
        directive(out, 1, `${kind}_temp_path`, arg(`${runtime.tempDir}/${kind}`));
      }
    }
  }
  const httpStart = out.length;

  // Hash sizes nginx would otherwise refuse to build: long or many server names, long header names.
  let longestName = 0;
  let names = 0;
  let longestHeader = 0;
  for (const { host } of hosts) {
    for (const name of host.serverNames) longestName = Math.max(longestName, name.length);
    names += host.serverNames.length;
    longestHeader = Math.max(longestHeader, longestRequestHeader(host));
  }
  const bucket = Math.max(64, powerOfTwoAtLeast(2 * hashElement(longestName) + 8));
  const maxSize = Math.max(512, powerOfTwoAtLeast(8 * names));
  // http-level only, so the include layout cannot move them: it writes them
  // only where nginx's defaults (64, 512) would not do, and there they clash
  // with a system nginx.conf that sets them too.
  if (!include || bucket > 64) {
    directive(out, h, "server_names_hash_bucket_size", String(bucket));
  }
  if (!include || maxSize > 512) directive(out, h, "server_names_hash_max_size", String(maxSize));
  const headerBucket = proxyHeadersBucket(longestHeader);
  if (headerBucket > 64 && !include) {
    directive(out, 1, "proxy_headers_hash_bucket_size", String(headerBucket));
  }

  const format = ACCESS_LOG_FIELDS.map(([field, variable]) => `"${field}":"${variable}"`).join(",");
  // The format's name is Drover's own, so it cannot clash with the system's.
  if (!include || global.accessLogPath !== null) {
    directive(out, h, "log_format", ACCESS_LOG_FORMAT, "escape=json", `'{${format}}'`);
  }
  let perServer: PerServer | undefined;
  if (include) {
    perServer = {
      accessLog:
        global.accessLogPath === null ? null : `${arg(global.accessLogPath)} ${ACCESS_LOG_FORMAT}`,
      directives: global.directives,
    };
    // No http-level directive at all: no blank line of its own.
    if (out.length === httpStart) out.pop();
  } else {
    if (global.accessLogPath === null) directive(out, 1, "access_log", "off");
    else directive(out, 1, "access_log", arg(global.accessLogPath), ACCESS_LOG_FORMAT);
    if (hosts.some(({ host }) => host.tls)) directive(out, 1, "ssl_protocols", ...SSL_PROTOCOLS);
    for (const [name, value] of DEFAULT_PROXY_HEADERS) {
      directive(out, 1, "proxy_set_header", name, value);
    }
    emitDirectives(out, 1, global.directives);
  }

  for (const id of [...used].sort(compare)) {
    emitUpstream(out, h, upstreams.get(id) as PlannedUpstream);
  }

  if (include ? options.defaultServers === true : options.defaultServers !== false) {
    const ports = new Map<number, boolean>();
    for (const { host } of hosts) ports.set(host.listenPort, host.tls !== null);
    for (const [port, tls] of [...ports.entries()].sort(([a], [b]) => a - b)) {
      out.push("");
      out.push(`${indents[h]}# Port ${port}: names no virtual host serves.`);
      open(out, h, "server");
      if (tls) {
        directive(out, h + 1, "listen", listenOn(options, port), "ssl", "default_server");
        directive(out, h + 1, "ssl_reject_handshake", "on");
        if (perServer) directive(out, h + 1, "ssl_protocols", ...SSL_PROTOCOLS);
        if (perServer?.accessLog) directive(out, h + 1, "access_log", perServer.accessLog);
      } else {
        directive(out, h + 1, "listen", listenOn(options, port), "default_server");
        if (perServer?.accessLog) directive(out, h + 1, "access_log", perServer.accessLog);
        const challenges = acmeChallenges(options);
        if (challenges.length === 0) directive(out, h + 1, "return", "444");
        else {
          // HTTP-01 for names no host serves yet; everything else is still refused.
          emitAcmeChallenges(out, h + 1, challenges);
          open(out, h + 1, "location /");
          directive(out, h + 2, "return", "444");
          close(out, h + 1);
        }
      }
      close(out, h);
    }
  }

  for (const planned of hosts) emitHost(out, h, planned, upstreams, options, perServer);

  out.push("");
  out.push(`${indents[h]}# The agent's status endpoint: loopback only.`);
  open(out, h, "server");
  directive(out, h + 1, "listen", `127.0.0.1:${options.statusPort}`);
  directive(out, h + 1, "access_log", "off");
  open(out, h + 1, `location = ${STUB_STATUS_PATH}`);
  directive(out, h + 2, "stub_status");
  directive(out, h + 2, "allow", "127.0.0.1");
  directive(out, h + 2, "deny", "all");
  close(out, h + 1);
  open(out, h + 1, "location /");
  directive(out, h + 2, "return", "404");
  close(out, h + 1);
  close(out, h);
  if (!include) close(out, 0);
  out.push("");
  return out.join("\n");
}

function serverLine(server: CheckedServer): string {
  const parts = [arg(server.address)];
  if (server.weight !== 1) parts.push(`weight=${server.weight}`);
  if (server.maxFails !== 1) parts.push(`max_fails=${server.maxFails}`);
  if (server.failTimeout !== 10) parts.push(`fail_timeout=${server.failTimeout}s`);
  if (server.backup) parts.push("backup");
  if (server.down) parts.push("down");
  return parts.join(" ");
}

/** `depth`: of the upstream block (http level). */
function emitUpstream(out: string[], depth: number, plan: PlannedUpstream): void {
  const { checked } = plan;
  const d = depth + 1;
  out.push("");
  out.push(`${indents[depth]}# Upstream ${checked.id}.`);
  open(out, depth, `upstream ${plan.name}`);
  // The balancing method comes first: nginx wants it before keepalive.
  if (checked.algorithm === "least_connections") directive(out, d, "least_conn");
  if (checked.algorithm === "ip_hash") directive(out, d, "ip_hash");
  if (checked.algorithm === "hash") {
    const key = quote(checked.hashKey as string);
    if (checked.hashConsistent) directive(out, d, "hash", key, "consistent");
    else directive(out, d, "hash", key);
  }
  // Server order matters where a plain hash picks servers by index; elsewhere it is sorted.
  const ordered =
    checked.algorithm === "ip_hash" || (checked.algorithm === "hash" && !checked.hashConsistent);
  const lines = plan.servers.map(serverLine);
  if (!ordered) lines.sort(compare);
  for (const line of lines) directive(out, d, "server", line);
  if (checked.keepalive > 0) directive(out, d, "keepalive", String(checked.keepalive));
  close(out, depth);
}

/** `depth`: of the server block (http level); perServer only in include layout. */
function emitHost(
  out: string[],
  depth: number,
  { host, quicReuseport }: PlannedHost,
  upstreams: ReadonlyMap<string, PlannedUpstream | Problem>,
  options: NginxCompileOptions,
  perServer: PerServer | undefined,
): void {
  const d = depth + 1;
  const port = listenOn(options, host.listenPort);
  const http3 = host.http3 && options.supportsHttp3 === true;
  out.push("");
  out.push(`${indents[depth]}# Virtual host ${host.id}.`);
  open(out, depth, "server");
  if (host.tls) {
    const h2 = host.http2 && !options.http2Directive;
    directive(out, d, "listen", port, "ssl", ...(h2 ? ["http2"] : []));
    if (http3) directive(out, d, "listen", port, "quic", ...(quicReuseport ? ["reuseport"] : []));
    if (host.http2 && options.http2Directive) directive(out, d, "http2", "on");
  } else {
    directive(out, d, "listen", port);
  }
  directive(out, d, "server_name", ...host.serverNames);
  if (host.tls) {
    directive(out, d, "ssl_certificate", arg(host.tls.certificatePath));
    directive(out, d, "ssl_certificate_key", arg(host.tls.keyPath));
    if (perServer) directive(out, d, "ssl_protocols", ...SSL_PROTOCOLS);
  }
  const altSvc = http3 ? quote(`h3=":${port}"; ma=86400`) : undefined;
  if (altSvc) directive(out, d, "add_header", "Alt-Svc", altSvc, "always");
  if (perServer) {
    if (perServer.accessLog) directive(out, d, "access_log", perServer.accessLog);
    // Only where this host's header names need it: the setting is per location, inherited.
    const headerBucket = proxyHeadersBucket(longestRequestHeader(host));
    if (headerBucket > 64)
      directive(out, d, "proxy_headers_hash_bucket_size", String(headerBucket));
    for (const [name, value] of DEFAULT_PROXY_HEADERS) {
      directive(out, d, "proxy_set_header", name, value);
    }
    // The host's own directives override the global ones of the same name, as nginx's levels do.
    const merged = new Map([...perServer.directives, ...host.directives]);
    emitDirectives(
      out,
      d,
      [...merged.entries()].sort(([a], [b]) => compare(a, b)),
    );
  } else {
    emitDirectives(out, d, host.directives);
  }
  const challenges = host.tls ? [] : acmeChallenges(options);
  // Exact-match locations win over any prefix or regex location of the host.
  emitAcmeChallenges(out, d, challenges);
  if (host.locations.length === 0) {
    if (challenges.length > 0) {
      open(out, d, "location /");
      directive(out, d + 1, "return", "404");
      close(out, d);
    } else directive(out, d, "return", "404");
  }
  for (const location of host.locations) emitLocation(out, d, location, upstreams, altSvc);
  close(out, depth);
}

/** The open challenges, sorted by token (checked base64url by validate.ts). */
function acmeChallenges(options: NginxCompileOptions): Array<[string, string]> {
  return Object.entries(options.acmeChallenges ?? {}).sort(([a], [b]) => compare(a, b));
}

/**
 * ACME HTTP-01 answered by nginx itself: the key authorization is returned
 * from the config, so no file has to be readable by the workers.
 */
function emitAcmeChallenges(
  out: string[],
  depth: number,
  challenges: Array<[string, string]>,
): void {
  for (const [token, keyAuthorization] of challenges) {
    open(out, depth, `location = ${ACME_CHALLENGE_PATH}${token}`);
    directive(out, depth + 1, "default_type", "text/plain");
    directive(out, depth + 1, "return", "200", quote(keyAuthorization));
    close(out, depth);
  }
}

/** `depth`: of the location block. */
function emitLocation(
  out: string[],
  depth: number,
  location: CheckedLocation,
  upstreams: ReadonlyMap<string, PlannedUpstream | Problem>,
  altSvc: string | undefined,
): void {
  const d = depth + 1;
  open(out, depth, `location ${arg(location.path)}`);
  for (const rule of location.rewrites) {
    directive(out, d, "rewrite", quote(rule.pattern), quote(rule.replacement), rule.flag);
  }
  const target = location.target;
  let keepalive = false;
  if (target.kind === "root") {
    directive(out, d, "root", arg(target.root));
    if (target.index.length > 0) directive(out, d, "index", ...target.index.map(arg));
  } else if (target.kind === "proxy") {
    directive(out, d, "proxy_pass", arg(target.url));
  } else {
    const upstream = upstreams.get(target.upstreamId) as PlannedUpstream;
    directive(out, d, "proxy_pass", `http://${upstream.name}`);
    keepalive = upstream.checked.keepalive > 0;
  }
  if (keepalive) directive(out, d, "proxy_http_version", "1.1");

  // proxy_set_header at this level replaces every inherited one: repeat the defaults.
  const request = location.headers.filter((header) => header.direction === "request");
  if (request.length > 0 || keepalive) {
    const own = new Set(request.map((header) => header.name.toLowerCase()));
    for (const [name, value] of DEFAULT_PROXY_HEADERS) {
      if (!own.has(name.toLowerCase())) directive(out, d, "proxy_set_header", name, value);
    }
    // Keepalive to the upstream needs the client's Connection header dropped.
    if (keepalive && !own.has("connection"))
      directive(out, d, "proxy_set_header", "Connection", '""');
    for (const header of request) {
      directive(out, d, "proxy_set_header", arg(header.name), quote(header.value));
    }
  }
  // add_header at this level replaces the server's Alt-Svc: repeat it.
  const response = location.headers.filter((header) => header.direction === "response");
  if (response.length > 0) {
    if (altSvc && !response.some((header) => header.name.toLowerCase() === "alt-svc")) {
      directive(out, d, "add_header", "Alt-Svc", altSvc, "always");
    }
    for (const header of response) {
      const always = header.always ? ["always"] : [];
      directive(out, d, "add_header", arg(header.name), quote(header.value), ...always);
    }
  }
  emitDirectives(out, d, location.directives);
  close(out, depth);
}
