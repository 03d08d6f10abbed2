import { DroverError, invalidField } from "../errors/index.ts";
import {
  checkAddress,
  checkArray,
  checkDirectives,
  checkFileName,
  checkFilePath,
  checkHeaderName,
  checkHeaderValue,
  checkLocationPath,
  checkInt as checkNginxInt,
  checkServerName as checkNginxServerName,
  checkProxyUrl,
  checkRewritePattern,
  checkRewriteReplacement,
  checkString,
  isDnsName,
  nginxLimits,
  rewriteFlags,
} from "../nginx/index.ts";
import { parseSelector } from "../selector/index.ts";
import type {
  CustomHeader,
  HealthCheckSpec,
  LocationSpec,
  RewriteRule,
  TargetAgents,
  UpstreamServer,
} from "../store/index.ts";

/** The hash key is nginx's grammar as is. */
export { checkHashKey } from "../nginx/index.ts";

/**
 * Rules for virtual hosts, upstreams and certificates. Errors name fields by
 * their REST paths (snake_case, array indexes as segments: `servers.1.backup`),
 * the same paths the REST edge renders for schema failures.
 *
 * Every field that reaches nginx.conf is checked by the nginx compiler's own
 * grammar (lib/nginx), given the REST path as its field name, so what the API
 * stores is what the compiler accepts. The rules written here are REST's own:
 * the shape of stored values, and a few stricter than nginx's, each noted.
 */

/**
 * Numeric ranges and array sizes, shared with the REST schemas so the OpenAPI
 * document states them. The nginx-bound ones are the compiler's own table;
 * the rest (health checks, access-log queries, pages) are REST's.
 */
export const configLimits = {
  ...nginxLimits,
  /** Stricter than the compiler's: the seed's index is a short list. */
  indexNames: 8,
  /** A location root's characters; stricter than the compiler's file path grammar (1024). */
  rootLength: 512,
  healthInterval: { min: 1, max: 3600 },
  healthTimeout: { min: 1, max: 3600 },
  /** Consecutive probes that change a server's state (the agent's checker). */
  healthThreshold: { min: 1, max: 100 },
  /** An access-log query's HTTP status. */
  statusCode: { min: 100, max: 599 },
  /** A list page's size. */
  perPage: { min: 1, max: 100 },
} as const;

export function checkInt(field: string, value: unknown, range: { min: number; max: number }) {
  checkNginxInt(field, value, range.min, range.max);
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

/** Stored fields are required: unlike the compiler's model, undefined is not false. */
function checkBool(field: string, value: unknown): void {
  if (typeof value !== "boolean") throw invalidField(field, "must be true or false");
}

/**
 * server_name as stored: host names separated by single spaces, each one
 * nginx's server_name entry, none twice (nginx refuses a duplicate name).
 */
export function checkServerName(field: string, value: unknown): void {
  checkString(field, value);
  // REST's own bound on the stored string.
  if (value.length > 4096) throw invalidField(field, "must be at most 4096 characters");
  if (value === "") throw invalidField(field, "must name at least one host");
  const names = value.split(" ");
  if (names.length > configLimits.serverNames) {
    throw invalidField(field, `must name at most ${configLimits.serverNames} hosts`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (name === "") {
      throw invalidField(field, "host names are separated by single spaces, with none around");
    }
    checkNginxServerName(field, name);
    if (seen.has(name.toLowerCase())) throw invalidField(field, `lists ${name} a second time`);
    seen.add(name.toLowerCase());
  }
}

/** A certificate's domain (a server_name entry); true when it is a wildcard. */
export function checkDomain(field: string, value: unknown): boolean {
  checkString(field, value);
  if (value.startsWith("~") || !isDnsName(value.startsWith("*.") ? value.slice(2) : value)) {
    throw invalidField(field, 'must be a DNS name, optionally starting with "*."');
  }
  return value.startsWith("*.");
}

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

export function checkHeader(field: string, header: CustomHeader): void {
  checkObject(field, header);
  checkHeaderName(`${field}.name`, header.name);
  checkHeaderValue(`${field}.value`, header.value);
  // Stricter than nginx, which writes the value quoted so a ';' is inert: the
  // API has always refused one (a value that ends a directive when pasted into
  // a hand-written config), and stored values keep that promise.
  if (header.value.includes(";")) throw invalidField(`${field}.value`, "must not contain ';'");
  if (header.always !== undefined) checkBool(`${field}.always`, header.always);
}

export function checkRewrite(field: string, rule: RewriteRule): void {
  checkObject(field, rule);
  const captures = checkRewritePattern(`${field}.pattern`, rule.pattern);
  checkRewriteReplacement(`${field}.replacement`, rule.replacement, captures);
  if (!rewriteFlags.includes(rule.flag)) {
    throw invalidField(`${field}.flag`, "must be last, break, redirect or permanent");
  }
}

/** A location's own rules; that its upstream exists is checked against the store. */
export function checkLocation(field: string, location: LocationSpec): void {
  checkObject(field, location);
  checkLocationPath(`${field}.path`, location.path);
  const given = (["upstreamId", "proxyPass", "root"] as const).filter(
    (key) => location[key] !== undefined,
  );
  if (given.length !== 1) {
    const names = { upstreamId: "upstream_id", proxyPass: "proxy_pass", root: "root" };
    const second = given[1];
    throw invalidField(
      second === undefined ? field : `${field}.${names[second]}`,
      "needs exactly one of upstream_id, proxy_pass and root",
    );
  }
  if (location.upstreamId !== undefined) checkString(`${field}.upstream_id`, location.upstreamId);
  if (location.proxyPass !== undefined) checkProxyUrl(`${field}.proxy_pass`, location.proxyPass);
  if (location.root !== undefined) {
    checkFilePath(`${field}.root`, location.root);
    if (location.root.length > configLimits.rootLength) {
      throw invalidField(`${field}.root`, `must be at most ${configLimits.rootLength} characters`);
    }
  }
  if (location.index !== undefined) {
    if (location.root === undefined) throw invalidField(`${field}.index`, "is only used with root");
    checkIndexNames(`${field}.index`, location.index);
  }
  checkArray(`${field}.custom_headers`, location.customHeaders, configLimits.headers);
  location.customHeaders.forEach((header, i) => {
    checkHeader(`${field}.custom_headers.${i}`, header);
  });
  checkArray(`${field}.rewrites`, location.rewrites, configLimits.rewrites);
  location.rewrites.forEach((rule, i) => {
    checkRewrite(`${field}.rewrites.${i}`, rule);
  });
  checkDirectives(`${field}.custom_directives`, location.customDirectives);
}

/** A location's index: file names separated by single spaces (the seed's one string). */
export function indexNames(index: string): string[] {
  return index.split(" ");
}

function checkIndexNames(field: string, index: unknown): void {
  checkString(field, index);
  const names = indexNames(index);
  if (names.length > configLimits.indexNames) {
    throw invalidField(field, `must name at most ${configLimits.indexNames} files`);
  }
  for (const name of names) {
    if (name === "") {
      throw invalidField(field, "file names are separated by single spaces, with none around");
    }
    checkFileName(field, name);
  }
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
  // Not written to nginx.conf (the agent's checker requests it), but a URI
  // path all the same: the location grammar.
  checkLocationPath(`${field}.path`, check.path);
  checkInt(`${field}.interval`, check.interval, configLimits.healthInterval);
  checkInt(`${field}.timeout`, check.timeout, configLimits.healthTimeout);
  if (check.timeout >= check.interval) {
    throw invalidField(`${field}.timeout`, `must be less than ${field}.interval`);
  }
  for (const [name, value] of [
    ["healthy_threshold", check.healthyThreshold],
    ["unhealthy_threshold", check.unhealthyThreshold],
  ] as const) {
    if (value !== undefined) checkInt(`${field}.${name}`, value, configLimits.healthThreshold);
  }
}
