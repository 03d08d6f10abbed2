/**
 * The nginx compiler: model → nginx.conf, a pure function
 * (`compileNginxConfig(model, options)`); the agent writes the file, runs
 * `nginx -t` and reloads. options.layout "include" makes drover.conf instead,
 * an http-level fragment for a system nginx to include (no main context, no
 * runtime paths, nothing at http level that the system's nginx.conf sets).
 *
 * - Grammar, not escaping: every user string is checked against what nginx
 *   reads for its field (grammar.ts, regex.ts, variables.ts, directives.ts)
 *   and refused with a DroverError invalid_argument naming the field
 *   (`virtual_hosts.0.locations.1.headers.0.value`). What passes is written
 *   bare when unambiguous, else double-quoted with `\` and `"` escaped.
 * - `$` only where nginx takes variables — header values, rewrite
 *   replacements (also captures $0-$9, up to the pattern's groups) and the
 *   hash key — and only variables a stock nginx build knows: nginx refuses to
 *   load an unknown one, and has no escape for a literal `$`.
 * - Header values may hold `;` and quotes (HSTS, CSP need them): quoted, they
 *   are inert. `{`, `}` and control characters are refused.
 * - Response headers → `add_header NAME "VALUE" always;`; request headers
 *   (direction "request") → `proxy_set_header`, replacing the default of the
 *   same name (Host $host, X-Real-IP, X-Forwarded-For, X-Forwarded-Proto,
 *   X-Request-ID). A location that sets any proxy_set_header repeats the
 *   defaults, and one that sets add_header repeats the server's Alt-Svc,
 *   because nginx drops inherited ones at that level.
 * - Deterministic: hosts and upstreams sorted by id, directives by name,
 *   upstream servers by their line except for ip_hash and plain hash (where
 *   order picks the server); locations, rewrites and headers as given.
 * - Combinations nginx refuses are refused (backup with hash/ip_hash, an
 *   upstream of backups only, duplicate locations or names, http3 without
 *   TLS, `~regex` server names) or emitted the way nginx needs them
 *   (keepalive → proxy_http_version 1.1 + Connection ""; `reuseport` once
 *   per QUIC port; hash sizes for long or many names).
 * - One bad host does not take the rest down: missing certificate files,
 *   unresolvable proxy_pass hosts, upstreams with no resolvable primary
 *   server, port TLS/plain clashes, a name already served on the port and the
 *   status port are set aside with a reason (options.invalid "set_aside" does
 *   the same for invalid hosts). Unresolvable upstream servers are left out.
 * - health_check emits nothing (open-source nginx has no active checks);
 *   options.downServers, from the agent's checker, marks servers `down`.
 */

export {
  checkNginxText,
  type NginxTextPaths,
  type NginxTextPolicy,
  nginxTextPolicy,
} from "./check-text.ts";
export {
  ACCESS_LOG_FIELDS,
  ACCESS_LOG_FORMAT,
  ACME_CHALLENGE_PATH,
  compileNginxConfig,
  DEFAULT_PROXY_HEADERS,
  NGINX_INCLUDE_FILE,
  nginxUpstreamName,
  STUB_STATUS_PATH,
} from "./compile.ts";
export { allowedDirectives, checkDirectives } from "./directives.ts";
export { checkEnvVars, envLimits } from "./env.ts";
export {
  type NginxBuildPaths,
  type NginxFeatures,
  nginxBuildPaths,
  nginxFeatures,
} from "./features.ts";
export type { FieldAt, FieldPath } from "./field.ts";
export { type NginxRowsInput, nginxModelFromRows } from "./from-rows.ts";
export {
  checkAddress,
  checkArray,
  checkFileName,
  checkFilePath,
  checkHashKey,
  checkHeaderName,
  checkHeaderValue,
  checkInt,
  checkLocationPath,
  checkProxyUrl,
  checkServerName,
  checkString,
  isDnsName,
} from "./grammar.ts";
export type {
  NginxCertificate,
  NginxCompileOptions,
  NginxCompileResult,
  NginxDirectives,
  NginxFile,
  NginxGlobalSettings,
  NginxHeader,
  NginxHostOutcome,
  NginxLayout,
  NginxLocation,
  NginxModel,
  NginxRewrite,
  NginxRewriteFlag,
  NginxRuntimePaths,
  NginxUpstream,
  NginxUpstreamAlgorithm,
  NginxUpstreamOutcome,
  NginxUpstreamServer,
  NginxVirtualHost,
} from "./model.ts";
export { type NginxReadOptions, type NginxStatement, readNginxConf } from "./parse.ts";
export { checkRewritePattern } from "./regex.ts";
export { insideStaticRoot, staticRootProblems } from "./static-roots.ts";
export {
  checkReplacement as checkRewriteReplacement,
  limits as nginxLimits,
  rewriteFlags,
} from "./validate.ts";
export { checkVariables, isKnownVariable } from "./variables.ts";
