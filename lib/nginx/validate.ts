import { isIP } from "node:net";
import { invalidField } from "../errors/index.ts";
import { checkDirectives } from "./directives.ts";
import { checkEnvVars } from "./env.ts";
import { at, type FieldPath, fieldError } from "./field.ts";
import {
  checkAddress,
  checkArray,
  checkBool,
  checkFileName,
  checkFilePath,
  checkHashKey,
  checkHeaderName,
  checkHeaderValue,
  checkId,
  checkInt,
  checkLocationPath,
  checkProxyUrl,
  checkServerName,
  checkString,
  checkUserName,
  type HostPort,
} from "./grammar.ts";
import type {
  NginxCertificate,
  NginxCompileOptions,
  NginxGlobalSettings,
  NginxLocation,
  NginxRewriteFlag,
  NginxUpstream,
  NginxUpstreamAlgorithm,
  NginxVirtualHost,
} from "./model.ts";
import { checkRewritePattern } from "./regex.ts";
import { checkVariables } from "./variables.ts";

/**
 * Model → checked, normalized plan pieces. Every check names its field by a
 * path into the model, snake_case, array indexes as segments:
 * `virtual_hosts.2.locations.0.headers.1.value`, `upstreams.0.servers.3.backup`,
 * kept as a FieldPath (field.ts) and written out only when a check fails.
 */

/** Sizes and ranges nginx-bound fields take; the REST schemas and service share them. */
export const limits = {
  serverNames: 64,
  locations: 512,
  headers: 64,
  rewrites: 64,
  indexNames: 16,
  servers: 512,
  weight: { min: 1, max: 1000 },
  maxFails: { min: 0, max: 100 },
  failTimeout: { min: 1, max: 3600 },
  keepalive: { min: 0, max: 1024 },
  workerProcesses: { min: 1, max: 1024 },
  workerConnections: { min: 16, max: 1_048_576 },
  port: { min: 1, max: 65535 },
} as const;

function checkObject(field: FieldPath, value: unknown): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw fieldError(field, "must be an object");
  }
}

// Global settings and options

export interface CheckedGlobal {
  workerProcesses: number | "auto";
  workerConnections: number;
  accessLogPath: string | null;
  directives: Array<[string, string]>;
  env: Array<[string, string]>;
}

export function checkGlobal(global: NginxGlobalSettings | undefined): CheckedGlobal {
  const g: NginxGlobalSettings = global ?? {};
  checkObject("global", g as unknown);
  const workerProcesses =
    g.workerProcesses === undefined || g.workerProcesses === "auto"
      ? "auto"
      : checkInt(
          "global.worker_processes",
          g.workerProcesses,
          limits.workerProcesses.min,
          limits.workerProcesses.max,
        );
  const workerConnections =
    g.workerConnections === undefined
      ? 1024
      : checkInt(
          "global.worker_connections",
          g.workerConnections,
          limits.workerConnections.min,
          limits.workerConnections.max,
        );
  let accessLogPath: string | null = null;
  if (g.accessLogPath !== undefined && g.accessLogPath !== null) {
    checkFilePath("global.access_log_path", g.accessLogPath);
    accessLogPath = g.accessLogPath;
  }
  return {
    workerProcesses,
    workerConnections,
    accessLogPath,
    directives: checkDirectives("global.directives", g.directives),
    env: checkEnvVars("global.env", g.env),
  };
}

export function checkOptions(options: NginxCompileOptions): void {
  checkObject("options", options);
  checkInt("options.status_port", options.statusPort, limits.port.min, limits.port.max);
  checkBool("options.supports_http3", options.supportsHttp3);
  checkBool("options.http2_directive", options.http2Directive);
  checkBool("options.default_servers", options.defaultServers);
  if (options.layout !== undefined && options.layout !== "main" && options.layout !== "include") {
    throw invalidField("options.layout", "must be main or include");
  }
  if (
    options.listenAddress !== undefined &&
    (typeof options.listenAddress !== "string" || isIP(options.listenAddress) === 0)
  ) {
    throw invalidField("options.listen_address", "must be an IPv4 or IPv6 address");
  }
  if (typeof options.certificateAvailable !== "function") {
    throw invalidField("options.certificate_available", "must be a function");
  }
  if (typeof options.resolvable !== "function") {
    throw invalidField("options.resolvable", "must be a function");
  }
  if (
    options.invalid !== undefined &&
    options.invalid !== "reject" &&
    options.invalid !== "set_aside"
  ) {
    throw invalidField("options.invalid", "must be reject or set_aside");
  }
  if (options.downServers !== undefined) {
    checkObject("options.down_servers", options.downServers);
    for (const [id, addresses] of Object.entries(options.downServers)) {
      checkArray(`options.down_servers.${id}`, addresses, limits.servers);
      for (const address of addresses) checkString(`options.down_servers.${id}`, address);
    }
  }
  if (options.acmeChallenges !== undefined) {
    checkObject("options.acme_challenges", options.acmeChallenges);
    // RFC 8555: tokens are base64url; a key authorization is token "." thumbprint.
    for (const [token, keyAuthorization] of Object.entries(options.acmeChallenges)) {
      if (!/^[A-Za-z0-9_-]{1,256}$/.test(token))
        throw invalidField("options.acme_challenges", "tokens must be base64url");
      if (
        typeof keyAuthorization !== "string" ||
        !/^[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{1,128}$/.test(keyAuthorization)
      )
        throw invalidField(
          `options.acme_challenges.${token}`,
          "must be a key authorization (token.thumbprint)",
        );
    }
  }
  const runtime = options.runtime;
  if (runtime !== undefined) {
    checkObject("options.runtime", runtime);
    if (runtime.pidPath !== undefined) checkFilePath("options.runtime.pid_path", runtime.pidPath);
    if (runtime.errorLogPath !== undefined) {
      checkFilePath("options.runtime.error_log_path", runtime.errorLogPath);
    }
    if (runtime.tempDir !== undefined) checkFilePath("options.runtime.temp_dir", runtime.tempDir);
    if (runtime.mimeTypesPath !== undefined) {
      checkFilePath("options.runtime.mime_types_path", runtime.mimeTypesPath);
    }
    if (runtime.user !== undefined) checkUserName("options.runtime.user", runtime.user);
  }
}

// Upstreams

export interface CheckedServer {
  address: string;
  host: HostPort;
  weight: number;
  backup: boolean;
  down: boolean;
  maxFails: number;
  failTimeout: number;
}

export interface CheckedUpstream {
  id: string;
  algorithm: NginxUpstreamAlgorithm;
  hashKey: string | null;
  hashConsistent: boolean;
  servers: CheckedServer[];
  keepalive: number;
}

const algorithms: readonly NginxUpstreamAlgorithm[] = [
  "round_robin",
  "least_connections",
  "ip_hash",
  "hash",
];

export function checkUpstream(field: FieldPath, upstream: NginxUpstream): CheckedUpstream {
  checkObject(field, upstream);
  checkId(at(field, "id"), upstream.id);
  const algorithm = upstream.algorithm ?? "round_robin";
  if (!algorithms.includes(algorithm)) {
    throw fieldError(at(field, "algorithm"), `must be one of ${algorithms.join(", ")}`);
  }
  const hashKey = upstream.hashKey ?? null;
  if (algorithm === "hash") {
    if (hashKey === null)
      throw fieldError(at(field, "hash_key"), "is required with algorithm hash");
    checkHashKey(at(field, "hash_key"), hashKey);
  } else if (hashKey !== null) {
    throw fieldError(at(field, "hash_key"), "is only used with algorithm hash");
  }
  checkBool(at(field, "hash_consistent"), upstream.hashConsistent);
  const hashConsistent = upstream.hashConsistent === true;
  if (hashConsistent && algorithm !== "hash") {
    throw fieldError(at(field, "hash_consistent"), "is only used with algorithm hash");
  }
  const serversAt = at(field, "servers");
  checkArray(serversAt, upstream.servers, limits.servers);
  if (upstream.servers.length === 0) {
    throw fieldError(serversAt, "must list at least one server");
  }
  const servers = upstream.servers.map((server, i): CheckedServer => {
    const item = at(serversAt, i);
    checkObject(item, server);
    const host = checkAddress(at(item, "address"), server.address);
    checkBool(at(item, "backup"), server.backup);
    checkBool(at(item, "down"), server.down);
    // nginx: "the backup parameter cannot be used along with the hash and ip_hash".
    if (server.backup === true && (algorithm === "hash" || algorithm === "ip_hash")) {
      throw fieldError(at(item, "backup"), `is not allowed with algorithm ${algorithm}`);
    }
    const int = (
      name: string,
      value: number | undefined,
      range: { min: number; max: number },
      fallback: number,
    ) => (value === undefined ? fallback : checkInt(at(item, name), value, range.min, range.max));
    return {
      address: server.address,
      host,
      weight: int("weight", server.weight, limits.weight, 1),
      backup: server.backup === true,
      down: server.down === true,
      maxFails: int("max_fails", server.maxFails, limits.maxFails, 1),
      failTimeout: int("fail_timeout", server.failTimeout, limits.failTimeout, 10),
    };
  });
  // nginx refuses an upstream without a primary server ("no servers are inside upstream").
  if (servers.every((server) => server.backup)) {
    throw fieldError(serversAt, "needs at least one server that is not a backup");
  }
  const keepalive =
    upstream.keepalive === undefined || upstream.keepalive === null
      ? 0
      : checkInt(
          at(field, "keepalive"),
          upstream.keepalive,
          limits.keepalive.min,
          limits.keepalive.max,
        );
  return { id: upstream.id, algorithm, hashKey, hashConsistent, servers, keepalive };
}

// Virtual hosts

export interface CheckedHeader {
  name: string;
  value: string;
  direction: "response" | "request";
  always: boolean;
}

export interface CheckedRewrite {
  pattern: string;
  replacement: string;
  flag: NginxRewriteFlag;
}

export type CheckedTarget =
  | { kind: "proxy"; url: string; host: string; ip: boolean }
  | { kind: "upstream"; upstreamId: string }
  | { kind: "root"; root: string; index: string[] };

export interface CheckedLocation {
  path: string;
  target: CheckedTarget;
  headers: CheckedHeader[];
  rewrites: CheckedRewrite[];
  directives: Array<[string, string]>;
}

export interface CheckedHost {
  id: string;
  serverNames: string[];
  listenPort: number;
  tls: NginxCertificate | null;
  http2: boolean;
  http3: boolean;
  locations: CheckedLocation[];
  directives: Array<[string, string]>;
}

export const rewriteFlags: readonly NginxRewriteFlag[] = ["last", "break", "redirect", "permanent"];

/** A rewrite replacement; `captures`: the pattern's group count (checkRewritePattern's result). */
export function checkReplacement(field: FieldPath, value: unknown, captures: number): void {
  checkString(field, value);
  if (!/^[\x21-\x7e]{1,2048}$/.test(value) || /[;{}]/.test(value)) {
    throw fieldError(
      field,
      "must be 1-2048 printable ASCII characters, without spaces, ';', '{' or '}'",
    );
  }
  checkVariables(field, value, { maxCapture: captures });
}

function checkLocation(
  field: FieldPath,
  location: NginxLocation,
  upstreamIds: ReadonlySet<string>,
): CheckedLocation {
  checkObject(field, location);
  checkLocationPath(at(field, "path"), location.path);
  const given = (["proxyPass", "upstreamId", "root"] as const).filter(
    (key) => location[key] !== undefined,
  );
  if (given.length !== 1) {
    throw fieldError(field, "needs exactly one of proxy_pass, upstream_id and root");
  }
  if (location.index !== undefined && location.root === undefined) {
    throw fieldError(at(field, "index"), "is only used with root");
  }
  let target: CheckedTarget;
  if (location.proxyPass !== undefined) {
    target = { kind: "proxy", ...checkProxyUrl(at(field, "proxy_pass"), location.proxyPass) };
  } else if (location.upstreamId !== undefined) {
    checkString(at(field, "upstream_id"), location.upstreamId);
    if (!upstreamIds.has(location.upstreamId)) {
      throw fieldError(at(field, "upstream_id"), "names no upstream of the model");
    }
    target = { kind: "upstream", upstreamId: location.upstreamId };
  } else {
    checkFilePath(at(field, "root"), location.root);
    const index = location.index ?? [];
    const indexAt = at(field, "index");
    checkArray(indexAt, index, limits.indexNames);
    index.forEach((name, i) => {
      checkFileName(at(indexAt, i), name);
    });
    target = { kind: "root", root: location.root as string, index: [...index] };
  }

  const headersIn = location.headers ?? [];
  const headersAt = at(field, "headers");
  checkArray(headersAt, headersIn, limits.headers);
  // At most limits.headers names: a list does, and allocates far less than a Set (issue 13).
  const requestNames: string[] = [];
  const headers = headersIn.map((header, i): CheckedHeader => {
    const item = at(headersAt, i);
    checkObject(item, header);
    checkHeaderName(at(item, "name"), header.name);
    checkHeaderValue(at(item, "value"), header.value);
    const direction = header.direction ?? "response";
    if (direction !== "response" && direction !== "request") {
      throw fieldError(at(item, "direction"), "must be response or request");
    }
    if (direction === "request") {
      const key = header.name.toLowerCase();
      if (requestNames.includes(key)) {
        throw fieldError(at(item, "name"), `sets request header ${header.name} a second time`);
      }
      requestNames.push(key);
    }
    checkBool(at(item, "always"), header.always);
    if (header.always === false && direction === "request") {
      throw fieldError(at(item, "always"), "is only used with response headers");
    }
    return { name: header.name, value: header.value, direction, always: header.always !== false };
  });

  const rewritesIn = location.rewrites ?? [];
  const rewritesAt = at(field, "rewrites");
  checkArray(rewritesAt, rewritesIn, limits.rewrites);
  const rewrites = rewritesIn.map((rule, i): CheckedRewrite => {
    const item = at(rewritesAt, i);
    checkObject(item, rule);
    const captures = checkRewritePattern(at(item, "pattern"), rule.pattern);
    checkReplacement(at(item, "replacement"), rule.replacement, captures);
    if (!rewriteFlags.includes(rule.flag)) {
      throw fieldError(at(item, "flag"), "must be last, break, redirect or permanent");
    }
    return { pattern: rule.pattern, replacement: rule.replacement, flag: rule.flag };
  });

  return {
    path: location.path,
    target,
    headers,
    rewrites,
    directives: checkDirectives(at(field, "directives"), location.directives),
  };
}

export function checkHost(
  field: FieldPath,
  host: NginxVirtualHost,
  upstreamIds: ReadonlySet<string>,
): CheckedHost {
  checkObject(field, host);
  checkId(at(field, "id"), host.id);
  const namesAt = at(field, "server_names");
  checkArray(namesAt, host.serverNames, limits.serverNames);
  if (host.serverNames.length === 0) {
    throw fieldError(namesAt, "must name at least one host");
  }
  // At most limits.serverNames names: a list does, and allocates far less than a Set (issue 13).
  const seen: string[] = [];
  host.serverNames.forEach((name, i) => {
    checkServerName(at(namesAt, i), name);
    const key = name.toLowerCase();
    if (seen.includes(key)) {
      throw fieldError(at(namesAt, i), `lists ${name} a second time`);
    }
    seen.push(key);
  });
  checkInt(at(field, "listen_port"), host.listenPort, limits.port.min, limits.port.max);
  let tls: NginxCertificate | null = null;
  if (host.tls !== undefined && host.tls !== null) {
    const tlsAt = at(field, "tls");
    checkObject(tlsAt, host.tls);
    checkId(at(tlsAt, "certificate_id"), host.tls.certificateId);
    checkFilePath(at(tlsAt, "certificate_path"), host.tls.certificatePath);
    checkFilePath(at(tlsAt, "key_path"), host.tls.keyPath);
    tls = {
      certificateId: host.tls.certificateId,
      certificatePath: host.tls.certificatePath,
      keyPath: host.tls.keyPath,
    };
  }
  checkBool(at(field, "http2"), host.http2);
  checkBool(at(field, "http3"), host.http3);
  if (host.http3 === true && tls === null) {
    throw fieldError(at(field, "http3"), "needs tls: HTTP/3 runs over TLS");
  }
  const locationsAt = at(field, "locations");
  checkArray(locationsAt, host.locations, limits.locations);
  const paths = new Set<string>();
  const locations = host.locations.map((location, i) => {
    const locationAt = at(locationsAt, i);
    const checked = checkLocation(locationAt, location, upstreamIds);
    // nginx refuses a duplicate location.
    if (paths.has(checked.path)) {
      throw fieldError(at(locationAt, "path"), `duplicates location ${checked.path}`);
    }
    paths.add(checked.path);
    return checked;
  });
  return {
    id: host.id,
    serverNames: [...host.serverNames],
    listenPort: host.listenPort,
    tls,
    http2: host.http2 === true,
    http3: host.http3 === true,
    locations,
    directives: checkDirectives(at(field, "directives"), host.directives),
  };
}
