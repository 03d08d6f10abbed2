import { at, type FieldPath, fieldError } from "./field.ts";
import type { NginxDirectives } from "./model.ts";

/**
 * Custom directives: only these, each with its value grammar. All are valid
 * in http, server and location context (nginx's docs), so one list serves a
 * workspace's nginx_directives, a host's and a location's custom_directives;
 * a lower level overrides a higher one. Headers are not among them: they have
 * their own field. Values are single bare tokens, so they are written as they are.
 */

/** nginx size with k/m/g (an off_t: client_max_body_size). */
const offset = /^(0|[1-9][0-9]{0,8})[kKmMgG]?$/;
/** nginx size with k/m (a size_t). */
const size = /^[1-9][0-9]{0,8}[kKmM]?$/;
/** One time value: a number and an optional unit. */
const time = /^(0|[1-9][0-9]{0,6})(ms|s|m|h|d)?$/;
const flag = /^(on|off)$/;

const grammar: Readonly<Record<string, { pattern: RegExp; describe: string }>> = {
  client_body_buffer_size: { pattern: size, describe: "a size like 16k or 1m" },
  client_body_timeout: { pattern: time, describe: "a time like 60s" },
  client_max_body_size: { pattern: offset, describe: "a size like 10m or 1g (0: no limit)" },
  gzip: { pattern: flag, describe: "on or off" },
  keepalive_timeout: { pattern: time, describe: "a time like 75s" },
  proxy_buffering: { pattern: flag, describe: "on or off" },
  proxy_connect_timeout: { pattern: time, describe: "a time like 60s" },
  proxy_read_timeout: { pattern: time, describe: "a time like 60s" },
  proxy_request_buffering: { pattern: flag, describe: "on or off" },
  proxy_send_timeout: { pattern: time, describe: "a time like 60s" },
  send_timeout: { pattern: time, describe: "a time like 60s" },
};

/** The names a model may use, sorted. */
export const allowedDirectives: readonly string[] = Object.keys(grammar).sort();

/** Checks and returns the directives as sorted [name, value] pairs. */
export function checkDirectives(
  field: FieldPath,
  directives: NginxDirectives | undefined,
): Array<[string, string]> {
  if (directives === undefined) return [];
  if (directives === null || typeof directives !== "object" || Array.isArray(directives)) {
    throw fieldError(field, "must be an object of directive names to values");
  }
  const out: Array<[string, string]> = [];
  for (const name of Object.keys(directives).sort()) {
    const path = at(field, name);
    const rule = Object.hasOwn(grammar, name) ? grammar[name] : undefined;
    if (!rule) {
      throw fieldError(
        path,
        `is not an allowed directive (allowed: ${allowedDirectives.join(", ")})`,
      );
    }
    const value = directives[name];
    if (typeof value !== "string" || !rule.pattern.test(value)) {
      throw fieldError(path, `must be ${rule.describe}`);
    }
    out.push([name, value]);
  }
  return out;
}
