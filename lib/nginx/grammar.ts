import { isIPv4, isIPv6 } from "node:net";
import { type FieldPath, fieldError } from "./field.ts";
import { checkVariables } from "./variables.ts";

/**
 * The grammar of every user string that reaches nginx.conf. Each check throws
 * a DroverError invalid_argument naming the field; what passes can be written
 * with quote()/arg() and reads back in nginx as exactly the value given.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const controlOrSpace = /[\s\u0000-\u001f\u007f-\u009f]/;
const loneSurrogate = /\p{Cs}/u;

export function checkString(field: FieldPath, value: unknown): asserts value is string {
  if (typeof value !== "string") throw fieldError(field, "must be a string");
}

export function checkBool(field: FieldPath, value: unknown): void {
  if (value !== undefined && typeof value !== "boolean") {
    throw fieldError(field, "must be true or false");
  }
}

export function checkInt(field: FieldPath, value: unknown, min: number, max: number): number {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw fieldError(field, `must be an integer from ${min} to ${max}`);
  }
  return value as number;
}

export function checkArray(
  field: FieldPath,
  value: unknown,
  max: number,
): asserts value is unknown[] {
  if (!Array.isArray(value)) throw fieldError(field, "must be an array");
  if (value.length > max) throw fieldError(field, `must have at most ${max} items`);
}

/** Ids of hosts, upstreams and certificates: they appear in comments and upstream names. */
export function checkId(field: FieldPath, value: unknown): asserts value is string {
  checkString(field, value);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(value)) {
    throw fieldError(
      field,
      "must be 1-128 letters, digits, '.', '_' or '-', starting alphanumeric",
    );
  }
}

const label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const dnsName = new RegExp(`^${label}(?:\\.${label})*$`);

export function isDnsName(value: string): boolean {
  return value.length <= 253 && dnsName.test(value);
}

/** One server_name entry: a DNS name or `*.` and one. Regular expressions (`~…`) are refused. */
export function checkServerName(field: FieldPath, value: unknown): asserts value is string {
  checkString(field, value);
  if (value.startsWith("~")) {
    throw fieldError(field, "regular expression names are not supported; list the host names");
  }
  if (!isDnsName(value.startsWith("*.") ? value.slice(2) : value)) {
    throw fieldError(field, 'must be a DNS name, optionally starting with "*."');
  }
}

const segment = /^[A-Za-z0-9._~+@=,-]+$/;
/** One or more `/segment`s. */
const absolutePath = /^(?:\/[A-Za-z0-9._~+@=,-]+)+$/;
const dotSegment = /\/\.\.?(?:\/|$)/;

/**
 * An absolute file path: segments of letters, digits and `._~+@=,-`, no `.`
 * or `..` segments, no empty ones. No `$` (ssl_certificate, root and
 * access_log read variables), no quotes, no spaces.
 */
export function checkFilePath(field: FieldPath, value: unknown): asserts value is string {
  checkString(field, value);
  if (value.length > 1024 || !absolutePath.test(value) || dotSegment.test(value)) {
    throw fieldError(
      field,
      "must be an absolute path of letters, digits and '._~+@=,-' (no '.', '..' or empty segments, at most 1024 characters)",
    );
  }
}

/** An index file name. */
export function checkFileName(field: FieldPath, value: unknown): asserts value is string {
  checkString(field, value);
  if (value.length > 255 || !segment.test(value) || value === "." || value === "..") {
    throw fieldError(field, "must be a file name of letters, digits and '._~+@=,-'");
  }
}

/**
 * A location prefix: starts with "/", no whitespace or control characters,
 * no `;`, `{`, `}`, `\` or `$`. Other characters (quotes, `#`, non-ASCII
 * text) are written quoted.
 */
export function checkLocationPath(field: FieldPath, value: unknown): asserts value is string {
  checkString(field, value);
  if (!value.startsWith("/")) throw fieldError(field, 'must start with "/"');
  if (value.length > 1024) throw fieldError(field, "must be at most 1024 characters");
  if (loneSurrogate.test(value)) throw fieldError(field, "must be well-formed Unicode text");
  if (controlOrSpace.test(value) || /[;{}\\$]/.test(value)) {
    throw fieldError(
      field,
      "must not contain whitespace, control characters, ';', '{', '}', '\\' or '$'",
    );
  }
}

/** RFC 7230 token, less `$` (never a variable in a header name) and at most 256 characters. */
export function checkHeaderName(field: FieldPath, value: unknown): asserts value is string {
  checkString(field, value);
  if (!/^[!#%&'*+\-.^_`|~0-9A-Za-z]{1,256}$/.test(value)) {
    throw fieldError(field, "must be an HTTP header name (an RFC 7230 token, without '$')");
  }
}

/**
 * A header value: printable ASCII and spaces, at most 4096 characters, no
 * `{` or `}`; `$` only to start a known variable. `;`, quotes and `\` are
 * fine: the value is written quoted and escaped.
 */
export function checkHeaderValue(field: FieldPath, value: unknown): asserts value is string {
  checkString(field, value);
  if (value.length > 4096 || !/^[\x20-\x7e]*$/.test(value)) {
    throw fieldError(field, "must be at most 4096 printable ASCII characters");
  }
  if (/[{}]/.test(value)) throw fieldError(field, "must not contain '{' or '}'");
  checkVariables(field, value);
}

export interface HostPort {
  host: string;
  port: number;
  /** An IP address: nothing to resolve. */
  ip: boolean;
}

function hostKind(host: string, bracketed: boolean): boolean | undefined {
  if (bracketed) return isIPv6(host) ? true : undefined;
  if (isIPv4(host)) return true;
  return isDnsName(host) ? false : undefined;
}

/** host:port; the host a DNS name, an IPv4 address or a bracketed IPv6 address. */
export function checkAddress(field: FieldPath, value: unknown): HostPort {
  checkString(field, value);
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([1-9][0-9]{0,4})$/.exec(value);
  const host = match?.[1] ?? match?.[2] ?? "";
  const ip = match ? hostKind(host, match[1] !== undefined) : undefined;
  const port = Number(match?.[3]);
  if (ip === undefined || port > 65535) {
    throw fieldError(
      field,
      "must be host:port, the host a DNS name or IP address ([…] for IPv6), the port 1-65535",
    );
  }
  return { host, port, ip };
}

export interface ProxyUrl {
  /** As written to proxy_pass: the scheme lowercased. */
  url: string;
  host: string;
  ip: boolean;
}

/**
 * proxy_pass: http:// or https://, a DNS name or IP address ([…] for IPv6),
 * an optional port, an optional path (and query) of URL characters. No
 * user info, fragment, `$` (a variable would need a runtime resolver), `;`,
 * quotes or whitespace.
 */
export function checkProxyUrl(field: FieldPath, value: unknown): ProxyUrl {
  checkString(field, value);
  const match =
    /^(https?):\/\/(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::([1-9][0-9]{0,4}))?((?:\/[A-Za-z0-9._~!&()*+,=:@%/?-]*)?)$/i.exec(
      value,
    );
  const host = match?.[2] ?? match?.[3] ?? "";
  const ip = match ? hostKind(host, match[2] !== undefined) : undefined;
  const path = match?.[5] ?? "";
  if (
    !match ||
    ip === undefined ||
    value.length > 2048 ||
    Number(match[4] ?? 80) > 65535 ||
    /%(?![0-9A-Fa-f]{2})/.test(path)
  ) {
    throw fieldError(
      field,
      "must be an http:// or https:// URL: host (DNS name or IP address), optional port, optional path; no '$', ';', quotes, spaces, user info or fragment",
    );
  }
  const scheme = (match[1] ?? "").toLowerCase();
  return { url: `${scheme}${value.slice(scheme.length)}`, host, ip };
}

/** nginx's `hash` key: one token of printable ASCII, variables allowed. */
export function checkHashKey(field: FieldPath, value: unknown): asserts value is string {
  checkString(field, value);
  if (!/^[\x21-\x7e]{1,256}$/.test(value) || /[;{}\\"']/.test(value)) {
    throw fieldError(
      field,
      "must be 1-256 printable ASCII characters without spaces, quotes, ';', '{', '}' or '\\'",
    );
  }
  checkVariables(field, value);
}

/** A system user name for the `user` directive. */
export function checkUserName(field: FieldPath, value: unknown): asserts value is string {
  checkString(field, value);
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(value)) {
    throw fieldError(field, "must be a user name ([a-z_][a-z0-9_-]*, at most 32 characters)");
  }
}
