import { isIPv4, isIPv6 } from "node:net";
import { DroverError, invalidField } from "../errors/index.ts";
import { parseSelector } from "../selector/index.ts";
import type {
  CustomHeader,
  HealthCheckSpec,
  LocationSpec,
  RewriteRule,
  TargetAgents,
  UpstreamServer,
} from "../store/index.ts";

/**
 * Rules for virtual hosts, upstreams and certificates. Errors name fields by
 * their REST paths (snake_case, array indexes as segments: `servers.1.backup`),
 * the same paths the REST edge renders for schema failures.
 */

/** Numeric ranges, shared with the REST schemas so the OpenAPI document states them. */
export const configLimits = {
  port: { min: 1, max: 65535 },
  weight: { min: 1, max: 1000 },
  maxFails: { min: 0, max: 100 },
  failTimeout: { min: 1, max: 3600 },
  keepalive: { min: 0, max: 1024 },
  healthInterval: { min: 1, max: 3600 },
  healthTimeout: { min: 1, max: 3600 },
  /** An access-log query's HTTP status. */
  statusCode: { min: 100, max: 599 },
  /** A list page's size. */
  perPage: { min: 1, max: 100 },
  /** Array sizes: enough for any real configuration, bounded for storage. */
  servers: 512,
  locations: 512,
  headers: 64,
  rewrites: 64,
} as const;

const label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const dnsName = new RegExp(`^${label}(?:\\.${label})*$`);

/** A DNS name (letters, digits, hyphens; labels of 1-63, at most 253 in all). */
export function isDnsName(value: string): boolean {
  return value.length <= 253 && dnsName.test(value);
}

/** A DNS name, or `*.` followed by one. */
function isHostPattern(value: string): boolean {
  return isDnsName(value.startsWith("*.") ? value.slice(2) : value);
}

export function checkInt(field: string, value: unknown, range: { min: number; max: number }) {
  if (!Number.isInteger(value) || (value as number) < range.min || (value as number) > range.max) {
    throw invalidField(field, `must be an integer from ${range.min} to ${range.max}`);
  }
}

/**
 * page/per_page of a list, as REST's PageQuery bounds them: page from 1,
 * per_page 1-100. The REST schema refuses first; other callers (gRPC) meet
 * this.
 */
export function checkPage(page: { page: number; perPage: number }): void {
  if (!Number.isSafeInteger(page.page) || page.page < 1) {
    throw invalidField("page", "must be an integer of at least 1");
  }
  checkInt("per_page", page.perPage, configLimits.perPage);
}

function checkBool(field: string, value: unknown): void {
  if (typeof value !== "boolean") throw invalidField(field, "must be true or false");
}

function checkArray(field: string, value: unknown, max: number): asserts value is unknown[] {
  if (!Array.isArray(value)) throw invalidField(field, "must be an array");
  if (value.length > max) throw invalidField(field, `must have at most ${max} items`);
}

function checkString(field: string, value: unknown): asserts value is string {
  if (typeof value !== "string") throw invalidField(field, "must be a string");
}

/** nginx's server_name: host names separated by single spaces. */
export function checkServerName(field: string, value: unknown): void {
  checkString(field, value);
  if (value.length > 4096) throw invalidField(field, "must be at most 4096 characters");
  if (value === "") throw invalidField(field, "must name at least one host");
  for (const name of value.split(" ")) {
    if (name === "") {
      throw invalidField(field, "host names are separated by single spaces, with none around");
    }
    if (name.startsWith("~")) {
      throw invalidField(
        field,
        `regular expression names (${JSON.stringify(name)}) are not supported yet; list the host names`,
      );
    }
    if (!isHostPattern(name)) {
      throw invalidField(
        field,
        `${JSON.stringify(name)} is not a DNS name (a leading "*." is allowed)`,
      );
    }
  }
}

/** A certificate's domain; true when it is a wildcard. */
export function checkDomain(field: string, value: unknown): boolean {
  checkString(field, value);
  if (value.startsWith("~") || !isHostPattern(value)) {
    throw invalidField(field, 'must be a DNS name, optionally starting with "*."');
  }
  return value.startsWith("*.");
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const controlOrSpace = /[\s\u0000-\u001f\u007f]/;

/**
 * Half of a UTF-16 surrogate pair, alone: not text. It has no UTF-8 form for
 * nginx's configuration, and a SQLite text column would store U+FFFD instead.
 */
const loneSurrogate = /\p{Cs}/u;

/** Text that is stored and returned exactly as given. */
export function checkWellFormed(field: string, value: unknown): asserts value is string {
  checkString(field, value);
  if (loneSurrogate.test(value)) throw invalidField(field, "must be well-formed Unicode text");
}

/** A URI path as a location or health check takes it: no whitespace, `;`, `{`, `}` or `\`. */
export function checkPath(field: string, value: unknown): void {
  checkWellFormed(field, value);
  if (!value.startsWith("/")) throw invalidField(field, 'must start with "/"');
  if (value.length > 1024) throw invalidField(field, "must be at most 1024 characters");
  if (controlOrSpace.test(value) || /[;{}\\]/.test(value)) {
    throw invalidField(
      field,
      "must not contain whitespace, control characters, ';', '{', '}' or '\\'",
    );
  }
}

/** RFC 7230 token. */
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Every `$` starts an nginx variable name ($host, $1); nginx refuses a bare one. */
function checkVariables(field: string, value: string): void {
  if (/\$(?![A-Za-z0-9_])/.test(value)) {
    throw invalidField(field, "a '$' must start a variable name, like $host");
  }
}

export function checkHeader(field: string, header: CustomHeader): void {
  checkObject(field, header);
  checkString(`${field}.name`, header.name);
  if (header.name.length > 256 || !token.test(header.name)) {
    throw invalidField(`${field}.name`, "must be an HTTP header name (an RFC 7230 token)");
  }
  checkString(`${field}.value`, header.value);
  if (header.value.length > 4096 || !/^[\x20-\x7e]*$/.test(header.value)) {
    throw invalidField(`${field}.value`, "must be at most 4096 printable ASCII characters");
  }
  if (/[;{}]/.test(header.value)) {
    throw invalidField(`${field}.value`, "must not contain ';', '{' or '}'");
  }
  checkVariables(`${field}.value`, header.value);
}

export function checkRewrite(field: string, rule: RewriteRule): void {
  checkObject(field, rule);
  checkString(`${field}.pattern`, rule.pattern);
  // A regular expression: braces are quantifiers; the nginx compiler quotes it.
  if (!/^[\x21-\x7e]{1,1024}$/.test(rule.pattern) || rule.pattern.includes(";")) {
    throw invalidField(
      `${field}.pattern`,
      "must be 1-1024 printable ASCII characters, without spaces or ';'",
    );
  }
  checkString(`${field}.replacement`, rule.replacement);
  if (!/^[\x21-\x7e]{1,2048}$/.test(rule.replacement) || /[;{}]/.test(rule.replacement)) {
    throw invalidField(
      `${field}.replacement`,
      "must be 1-2048 printable ASCII characters, without spaces, ';', '{' or '}'",
    );
  }
  checkVariables(`${field}.replacement`, rule.replacement);
  if (!["last", "break", "redirect", "permanent"].includes(rule.flag)) {
    throw invalidField(`${field}.flag`, "must be last, break, redirect or permanent");
  }
}

export function checkProxyPass(field: string, value: unknown): void {
  checkWellFormed(field, value);
  if (
    !/^https?:\/\//i.test(value) ||
    !URL.canParse(value) ||
    controlOrSpace.test(value) ||
    /[;{}\\]/.test(value) ||
    value.length > 2048
  ) {
    throw invalidField(
      field,
      "must be an http:// or https:// URL without whitespace, ';', '{', '}' or '\\'",
    );
  }
}

/** A location's own rules; that its upstream exists is checked against the store. */
export function checkLocation(field: string, location: LocationSpec): void {
  checkObject(field, location);
  checkPath(`${field}.path`, location.path);
  const hasUpstream = location.upstreamId !== undefined;
  const hasProxy = location.proxyPass !== undefined;
  if (hasUpstream === hasProxy) {
    throw invalidField(
      hasUpstream ? `${field}.proxy_pass` : field,
      "needs exactly one of upstream_id and proxy_pass",
    );
  }
  if (hasUpstream) checkString(`${field}.upstream_id`, location.upstreamId);
  if (hasProxy) checkProxyPass(`${field}.proxy_pass`, location.proxyPass);
  checkArray(`${field}.custom_headers`, location.customHeaders, configLimits.headers);
  location.customHeaders.forEach((header, i) => {
    checkHeader(`${field}.custom_headers.${i}`, header);
  });
  checkArray(`${field}.rewrites`, location.rewrites, configLimits.rewrites);
  location.rewrites.forEach((rule, i) => {
    checkRewrite(`${field}.rewrites.${i}`, rule);
  });
}

export function checkLocations(field: string, locations: LocationSpec[]): void {
  checkArray(field, locations, configLimits.locations);
  const seen = new Set<string>();
  locations.forEach((location, i) => {
    checkLocation(`${field}.${i}`, location);
    // nginx refuses a duplicate location.
    if (seen.has(location.path)) {
      throw invalidField(`${field}.${i}.path`, `duplicates location ${location.path}`);
    }
    seen.add(location.path);
  });
}

function checkObject(field: string, value: unknown): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidField(field, "must be an object");
  }
}

export function checkTarget(field: string, target: TargetAgents): void {
  checkObject(field, target);
  if (target.type === "all") return;
  if (target.type !== "selector") throw invalidField(`${field}.type`, "must be all or selector");
  const at = `${field}.label_selector`;
  checkString(at, target.labelSelector);
  if (target.labelSelector.trim() === "") {
    throw invalidField(at, 'must not be empty; use {"type": "all"} for every agent');
  }
  if (target.labelSelector.length > 1024) throw invalidField(at, "must be at most 1024 characters");
  try {
    parseSelector(target.labelSelector);
  } catch (error) {
    if (!(error instanceof DroverError)) throw error;
    throw new DroverError("invalid_argument", `${at}: ${error.message}`, {
      details: [{ field: at, message: error.message }],
    });
  }
}

/** host:port; the host a DNS name or an IP address, an IPv6 one in brackets. */
export function checkAddress(field: string, value: unknown): void {
  checkString(field, value);
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):([1-9][0-9]{0,4})$/.exec(value);
  const host = match?.[1] ?? match?.[2];
  const ok =
    match !== null &&
    host !== undefined &&
    (match[1] !== undefined ? isIPv6(host) : isIPv4(host) || isDnsName(host)) &&
    Number(match[3]) <= configLimits.port.max;
  if (!ok) {
    throw invalidField(
      field,
      "must be host:port, the host a DNS name or IP address ([…] for IPv6), the port 1-65535",
    );
  }
}

export function checkServer(field: string, server: UpstreamServer): void {
  checkObject(field, server);
  checkAddress(`${field}.address`, server.address);
  checkInt(`${field}.weight`, server.weight, configLimits.weight);
  checkBool(`${field}.backup`, server.backup);
  checkBool(`${field}.down`, server.down);
  checkInt(`${field}.max_fails`, server.maxFails, configLimits.maxFails);
  checkInt(`${field}.fail_timeout`, server.failTimeout, configLimits.failTimeout);
}

export function checkHealthCheck(field: string, check: HealthCheckSpec): void {
  checkObject(field, check);
  checkBool(`${field}.enabled`, check.enabled);
  checkPath(`${field}.path`, check.path);
  checkInt(`${field}.interval`, check.interval, configLimits.healthInterval);
  checkInt(`${field}.timeout`, check.timeout, configLimits.healthTimeout);
  if (check.timeout >= check.interval) {
    throw invalidField(`${field}.timeout`, `must be less than ${field}.interval`);
  }
}

/** nginx's `hash` key: one token, variables allowed. */
export function checkHashKey(field: string, value: unknown): void {
  checkString(field, value);
  if (!/^[\x21-\x7e]{1,256}$/.test(value) || /[;{}\\"']/.test(value)) {
    throw invalidField(
      field,
      "must be 1-256 printable ASCII characters without spaces, quotes, ';', '{', '}' or '\\'",
    );
  }
  checkVariables(field, value);
}
