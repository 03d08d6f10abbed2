import {
  type ConfText,
  close,
  compare,
  directive,
  directiveLine,
  emitDirectives,
  line,
  open,
  write,
} from "./conf-text.ts";
import type { NginxCompileOptions } from "./model.ts";
import { arg, quote } from "./quote.ts";
import type { CheckedHost, CheckedLocation, CheckedServer, CheckedUpstream } from "./validate.ts";

/** Where ACME HTTP-01 challenges are fetched (RFC 8555 §8.3). */
export const ACME_CHALLENGE_PATH = "/.well-known/acme-challenge/";

/** TLS versions every TLS server accepts. */
export const SSL_PROTOCOLS = ["TLSv1.2", "TLSv1.3"];

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

/**
 * Each default header's key and its line at every depth: a location that sets
 * any request header, or proxies with keepalive, repeats all of them.
 */
const defaultProxyHeaderLines = DEFAULT_PROXY_HEADERS.map(([name, value]) => ({
  key: name.toLowerCase(),
  atDepth: [0, 1, 2, 3].map((depth) => directiveLine(depth, "proxy_set_header", name, value)),
}));

/** An upstream after resolution, as it is emitted. */
export interface PlannedUpstream {
  checked: CheckedUpstream;
  name: string;
  servers: CheckedServer[];
  skipped: string[];
  markedDown: string[];
}

export interface PlannedHost {
  host: CheckedHost;
  /** First host on a QUIC port: carries `reuseport`, which nginx takes once per port. */
  quicReuseport: boolean;
}

/**
 * What the include layout sets in each of its server blocks rather than at
 * http level, where it would clash with the system nginx.conf's own
 * (`duplicate` errors) or change the system's other sites.
 */
export interface PerServer {
  /** The access log, when global.accessLogPath is set. */
  accessLog: string | null;
  /** global.directives. */
  directives: Array<[string, string]>;
}

/** `port`, or `address:port` when the agent binds one address (IPv6 bracketed). */
export function listenOn(options: NginxCompileOptions, port: number): string {
  const address = options.listenAddress;
  if (address === undefined) return String(port);
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** nginx's hash element size for a key of `length` bytes (NGX_HASH_ELT_SIZE, 64-bit). */
export function hashElement(length: number): number {
  return 8 + Math.ceil((length + 2) / 8) * 8;
}

/** The longest name of a request header the host's locations set. */
export function longestRequestHeader(host: CheckedHost): number {
  let longest = 0;
  for (const location of host.locations) {
    for (const header of location.headers) {
      if (header.direction === "request") longest = Math.max(longest, header.name.length);
    }
  }
  return longest;
}

/** proxy_headers_hash_bucket_size that holds a header name of this length. */
export function proxyHeadersBucket(longestHeader: number): number {
  return powerOfTwoAtLeast(hashElement(longestHeader) + 8);
}

export function powerOfTwoAtLeast(value: number): number {
  let out = 1;
  while (out < value) out *= 2;
  return out;
}

function serverLine(server: CheckedServer): string {
  let text = arg(server.address);
  if (server.weight !== 1) text += ` weight=${server.weight}`;
  if (server.maxFails !== 1) text += ` max_fails=${server.maxFails}`;
  if (server.failTimeout !== 10) text += ` fail_timeout=${server.failTimeout}s`;
  if (server.backup) text += " backup";
  if (server.down) text += " down";
  return text;
}

/** `depth`: of the upstream block (http level). */
export function emitUpstream(out: ConfText, depth: number, plan: PlannedUpstream): void {
  const { checked } = plan;
  const d = depth + 1;
  line(out, depth, "");
  line(out, depth, `# Upstream ${checked.id}.`);
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
  const servers = plan.servers.map(serverLine);
  if (!ordered) servers.sort(compare);
  for (const server of servers) directive(out, d, "server", server);
  if (checked.keepalive > 0) directive(out, d, "keepalive", String(checked.keepalive));
  close(out, depth);
}

/** `depth`: of the server block (http level); perServer only in include layout. */
export function emitHost(
  out: ConfText,
  depth: number,
  { host, quicReuseport }: PlannedHost,
  upstreams: ReadonlyMap<string, PlannedUpstream>,
  options: NginxCompileOptions,
  perServer: PerServer | undefined,
): void {
  const d = depth + 1;
  const port = listenOn(options, host.listenPort);
  const http3 = host.http3 && options.supportsHttp3 === true;
  line(out, depth, "");
  line(out, depth, `# Virtual host ${host.id}.`);
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
export function acmeChallenges(options: NginxCompileOptions): Array<[string, string]> {
  return Object.entries(options.acmeChallenges ?? {}).sort(([a], [b]) => compare(a, b));
}

/**
 * ACME HTTP-01 answered by nginx itself: the key authorization is returned
 * from the config, so no file has to be readable by the workers.
 */
export function emitAcmeChallenges(
  out: ConfText,
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
  out: ConfText,
  depth: number,
  location: CheckedLocation,
  upstreams: ReadonlyMap<string, PlannedUpstream>,
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
    const own = request.map((header) => header.name.toLowerCase());
    for (const { key, atDepth } of defaultProxyHeaderLines) {
      if (!own.includes(key)) write(out, atDepth[d] as string);
    }
    // Keepalive to the upstream needs the client's Connection header dropped.
    if (keepalive && !own.includes("connection"))
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
