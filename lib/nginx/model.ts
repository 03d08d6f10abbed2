/**
 * The input and output of the nginx compiler. The model is what the server
 * wants an agent to serve; the options are what the agent knows about its own
 * machine (its nginx build, which files exist, which names resolve, which
 * upstream servers its active checker found down).
 */

/** Directive name → value, from the allow-list in directives.ts. Order is not semantic. */
export type NginxDirectives = Readonly<Record<string, string>>;

export interface NginxGlobalSettings {
  /** Default "auto". Main layout only: in include layout the system nginx owns it. */
  workerProcesses?: number | "auto";
  /** Default 1024. Main layout only. */
  workerConnections?: number;
  /**
   * Absolute path of the JSON access log the agent tails (format
   * `drover_json`, fields in ACCESS_LOG_FIELDS); absent: `access_log off`
   * (main layout) or the system nginx's own access log (include layout).
   */
  accessLogPath?: string | null;
  /**
   * Directives from the allow-list for every host: http-level in main layout;
   * in include layout repeated in each virtual host's server block (the
   * host's own of the same name win), so they neither clash with the system
   * nginx's http-level ones (Debian sets `gzip on;`) nor change its sites.
   */
  directives?: NginxDirectives;
  /**
   * Variables nginx's workers keep (`env NAME=value;`, main context). Main
   * layout only: in include layout the system nginx owns the main context,
   * so they are left out and the fragment says so in a comment.
   */
  env?: Readonly<Record<string, string>>;
}

/**
 * A header a location adds. "response" (the default) becomes
 * `add_header NAME "VALUE" always;` (without `always` when always is false); "request" becomes
 * `proxy_set_header NAME "VALUE";` and replaces the compiler's default of the
 * same name (Host, X-Real-IP, X-Forwarded-For, X-Forwarded-Proto, X-Request-ID).
 */
export interface NginxHeader {
  name: string;
  /** May hold nginx variables ($host, $http_x_foo, …); quoted on output. */
  value: string;
  direction?: "response" | "request";
  /** Response headers only: false drops `always` (nginx then adds it to 2xx/3xx only). Default true. */
  always?: boolean;
}

export type NginxRewriteFlag = "last" | "break" | "redirect" | "permanent";

export interface NginxRewrite {
  /** A regular expression (the subset both PCRE and JavaScript read alike). */
  pattern: string;
  /** May hold nginx variables and captures $0-$9. */
  replacement: string;
  flag: NginxRewriteFlag;
}

/**
 * One prefix `location`, with exactly one target: proxyPass (an http(s) URL),
 * upstreamId (an upstream of the model → `proxy_pass http://<its nginx name>`)
 * or root (static files, with optional index names).
 */
export interface NginxLocation {
  path: string;
  proxyPass?: string;
  upstreamId?: string;
  root?: string;
  index?: readonly string[];
  headers?: readonly NginxHeader[];
  /** Applied in the order given. */
  rewrites?: readonly NginxRewrite[];
  directives?: NginxDirectives;
}

/** Where the agent keeps a certificate's PEM files. */
export interface NginxCertificate {
  certificateId: string;
  /** Absolute path of the certificate chain (PEM). */
  certificatePath: string;
  /** Absolute path of the private key (PEM). */
  keyPath: string;
}

export interface NginxVirtualHost {
  id: string;
  /** DNS names, a leading "*." allowed; the first is the primary name. */
  serverNames: readonly string[];
  listenPort: number;
  /** Present: the host serves TLS on listenPort. */
  tls?: NginxCertificate | null;
  /** Needs tls; without it there is nothing to negotiate HTTP/2 with and it is ignored. */
  http2?: boolean;
  /** Needs tls; emitted only when options.supportsHttp3. */
  http3?: boolean;
  /** Kept in the order given (first match of equal prefixes is nginx's business). */
  locations: readonly NginxLocation[];
  directives?: NginxDirectives;
}

export type NginxUpstreamAlgorithm = "round_robin" | "least_connections" | "ip_hash" | "hash";

export interface NginxUpstreamServer {
  /** host:port; the host a DNS name, IPv4 address or [IPv6] address. */
  address: string;
  /** Default 1. */
  weight?: number;
  backup?: boolean;
  down?: boolean;
  /** Passive health checking; default 1. */
  maxFails?: number;
  /** Seconds; default 10. */
  failTimeout?: number;
}

export interface NginxUpstream {
  id: string;
  algorithm?: NginxUpstreamAlgorithm;
  /** Required with "hash", refused otherwise; may hold variables ($request_uri). */
  hashKey?: string | null;
  /** `hash KEY consistent` (ketama). */
  hashConsistent?: boolean;
  servers: readonly NginxUpstreamServer[];
  /** Idle connections kept per worker; 0 or absent: none. */
  keepalive?: number | null;
  /**
   * Accepted and ignored here: open-source nginx has no active checks. The
   * agent's checker probes it and passes what it finds down as
   * options.downServers.
   */
  healthCheck?: unknown;
}

export interface NginxModel {
  global?: NginxGlobalSettings;
  /**
   * Emitted sorted by id. Where two hosts clash (a port both TLS and plain, a
   * name twice on a port) the one listed first keeps it and the other is set
   * aside: list the oldest first.
   */
  virtualHosts: readonly NginxVirtualHost[];
  upstreams?: readonly NginxUpstream[];
}

/**
 * What the compiler writes: "main", a complete nginx.conf for an nginx of the
 * agent's own; "include", an http-level fragment (NGINX_INCLUDE_FILE) a
 * system nginx includes inside its http {} block.
 */
export type NginxLayout = "main" | "include";

export interface NginxCompileOptions {
  /**
   * Default "main". "include" leaves to the system nginx everything outside
   * http {} and what its nginx.conf sets at http level (runtime paths,
   * default_type, server_tokens, ssl_protocols, access_log); see
   * compileNginxConfig for what goes where.
   */
  layout?: NginxLayout;
  /** Port of the stub_status listener on 127.0.0.1 (path STUB_STATUS_PATH). */
  statusPort: number;
  /** The local nginx has HTTP/3 (≥ 1.25, built --with-http_v3_module); see nginxFeatures. */
  supportsHttp3?: boolean;
  /** Emit `http2 on;` (nginx ≥ 1.25.1) instead of the `listen … http2` parameter. */
  http2Directive?: boolean;
  /** Both PEM files of a certificate are in place; hosts whose are not are set aside. */
  certificateAvailable: (certificate: NginxCertificate) => boolean;
  /**
   * A DNS name resolves now. nginx resolves upstream and proxy_pass host names
   * when it loads the configuration and refuses to start if one does not;
   * such servers are left out and such hosts set aside. Not called for IP
   * addresses.
   */
  resolvable: (host: string) => boolean;
  /** Upstream id → addresses the agent's active checker found down: emitted with `down`. */
  downServers?: Readonly<Record<string, readonly string[]>>;
  /**
   * What an invalid virtual host or upstream does: "reject" (default) throws
   * the DroverError; "set_aside" leaves out the hosts it touches, with the
   * error as their reason, and compiles the rest. Invalid global settings or
   * options always throw.
   */
  invalid?: "reject" | "set_aside";
  /**
   * Emit a catch-all default_server per port that refuses unknown names.
   * Default true in main layout, false in include layout: a system nginx's
   * default site usually owns `listen 80 default_server`, and nginx refuses
   * a second default server on a port.
   */
  defaultServers?: boolean;
  /**
   * The IP address virtual hosts listen on (IPv4, or IPv6 without brackets);
   * absent: every address. The status listener stays on 127.0.0.1.
   */
  listenAddress?: string;
  /**
   * Open ACME HTTP-01 challenges, token → key authorization: every
   * plain-HTTP server answers /.well-known/acme-challenge/<token>.
   */
  acmeChallenges?: Readonly<Record<string, string>>;
  /**
   * Paths of the agent's nginx instance; absent ones keep nginx's built-in
   * defaults. Main layout only: ignored in include layout.
   */
  runtime?: NginxRuntimePaths;
}

export interface NginxRuntimePaths {
  pidPath?: string;
  errorLogPath?: string;
  /** A directory for client_body/proxy/fastcgi/uwsgi/scgi temp files. */
  tempDir?: string;
  /** Included in http {} when given (e.g. /etc/nginx/mime.types). */
  mimeTypesPath?: string;
  /** The `user` workers run as (nginx's default when absent). */
  user?: string;
}

export interface NginxFile {
  /** Relative to the nginx configuration directory. */
  path: string;
  content: string;
}

export type NginxHostOutcome =
  | { id: string; status: "applied"; notes: string[] }
  | { id: string; status: "set_aside"; reason: string; field?: string };

export type NginxUpstreamOutcome =
  | {
      id: string;
      status: "applied";
      /** Its nginx name, as proxy_pass uses it. */
      name: string;
      /** Servers left out (their names do not resolve). */
      skippedServers: string[];
      /** Servers emitted with `down` from options.downServers. */
      markedDown: string[];
    }
  | { id: string; status: "unused" }
  | { id: string; status: "set_aside"; reason: string; field?: string };

export interface NginxCompileResult {
  /** One file: nginx.conf, complete (main layout), or drover.conf, the fragment (include layout). */
  files: NginxFile[];
  /** Every virtual host of the model, sorted by id. */
  hosts: NginxHostOutcome[];
  /** Every upstream of the model, sorted by id. */
  upstreams: NginxUpstreamOutcome[];
}
