import { type FieldPath, fieldError } from "./field.ts";

/**
 * nginx variables a header value, rewrite replacement or hash key may use.
 * nginx refuses to load a configuration naming a variable it does not know,
 * so only variables of modules every packaged nginx builds are accepted:
 * core http, ssl, upstream, proxy, http2, stub_status, realip, referer,
 * secure_link and gzip. Names compare case-insensitively, as nginx does.
 */
const known = new Set([
  // ngx_http_core_module
  "args",
  "binary_remote_addr",
  "body_bytes_sent",
  "bytes_sent",
  "connection",
  "connection_requests",
  "connection_time",
  "content_length",
  "content_type",
  "document_root",
  "document_uri",
  "host",
  "hostname",
  "https",
  "is_args",
  "limit_rate",
  "msec",
  "nginx_version",
  "pid",
  "pipe",
  "proxy_protocol_addr",
  "proxy_protocol_port",
  "proxy_protocol_server_addr",
  "proxy_protocol_server_port",
  "query_string",
  "realpath_root",
  "remote_addr",
  "remote_port",
  "remote_user",
  "request",
  "request_body",
  "request_body_file",
  "request_completion",
  "request_filename",
  "request_id",
  "request_length",
  "request_method",
  "request_time",
  "request_uri",
  "scheme",
  "server_addr",
  "server_name",
  "server_port",
  "server_protocol",
  "status",
  "tcpinfo_rtt",
  "tcpinfo_rttvar",
  "tcpinfo_snd_cwnd",
  "tcpinfo_rcv_space",
  "time_iso8601",
  "time_local",
  "uri",
  // ngx_http_ssl_module
  "ssl_cipher",
  "ssl_ciphers",
  "ssl_client_escaped_cert",
  "ssl_client_fingerprint",
  "ssl_client_i_dn",
  "ssl_client_raw_cert",
  "ssl_client_s_dn",
  "ssl_client_serial",
  "ssl_client_v_end",
  "ssl_client_v_remain",
  "ssl_client_v_start",
  "ssl_client_verify",
  "ssl_curves",
  "ssl_early_data",
  "ssl_protocol",
  "ssl_server_name",
  "ssl_session_id",
  "ssl_session_reused",
  "ssl_alpn_protocol",
  // ngx_http_upstream_module
  "upstream_addr",
  "upstream_bytes_received",
  "upstream_bytes_sent",
  "upstream_cache_status",
  "upstream_connect_time",
  "upstream_header_time",
  "upstream_response_length",
  "upstream_response_time",
  "upstream_status",
  // ngx_http_proxy_module
  "proxy_add_x_forwarded_for",
  "proxy_host",
  "proxy_port",
  // others built by default
  "http2",
  "connections_active",
  "connections_reading",
  "connections_waiting",
  "connections_writing",
  "realip_remote_addr",
  "realip_remote_port",
  "invalid_referer",
  "gzip_ratio",
  "date_gmt",
  "date_local",
]);

/** Families: the prefix followed by a header, argument or cookie name. */
const prefixes = [
  "arg_",
  "cookie_",
  "http_",
  "sent_http_",
  "sent_trailer_",
  "upstream_cookie_",
  "upstream_http_",
  "upstream_trailer_",
];

/** True when nginx knows `$name` (name without the `$`). */
export function isKnownVariable(name: string): boolean {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return false;
  const lower = name.toLowerCase();
  return known.has(lower) || prefixes.some((p) => lower.startsWith(p) && lower.length > p.length);
}

export interface VariableRules {
  /** Highest capture $N allowed; undefined: no captures. */
  maxCapture?: number;
}

/**
 * Every `$` in value starts a variable nginx knows (nginx reads the longest
 * run of [A-Za-z0-9_] after it) or, where rules allow, a capture $0-$9 (one
 * digit). There is no escape for a literal `$` in nginx, so none is allowed.
 */
export function checkVariables(field: FieldPath, value: string, rules: VariableRules = {}): void {
  for (let at = value.indexOf("$"); at !== -1; at = value.indexOf("$", at + 1)) {
    const next = value[at + 1] ?? "";
    if (/[0-9]/.test(next)) {
      if (rules.maxCapture === undefined) {
        throw fieldError(field, `captures like $${next} are not allowed here`);
      }
      if (Number(next) > rules.maxCapture) {
        throw fieldError(
          field,
          `$${next} refers to a capture the pattern does not have (it has ${rules.maxCapture})`,
        );
      }
      continue;
    }
    const name = /^[A-Za-z0-9_]*/.exec(value.slice(at + 1))?.[0] ?? "";
    if (name === "") {
      throw fieldError(
        field,
        "a '$' must start a variable name like $host (nginx has no escape for '$')",
      );
    }
    if (!isKnownVariable(name)) throw fieldError(field, `$${name} is not an nginx variable`);
  }
}
