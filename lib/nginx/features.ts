/** What the local nginx can do, read from `nginx -V` (which prints to stderr). */
export interface NginxFeatures {
  /** "1.22.1"; "" when the text names no version. */
  version: string;
  /** ≥ 1.25.0 and built --with-http_v3_module. */
  supportsHttp3: boolean;
  /** ≥ 1.25.1: `http2 on;` replaces the deprecated `listen … http2`. */
  http2Directive: boolean;
  /** Modules named by --with-…_module, sorted. */
  modules: string[];
}

function atLeast(version: number[], wanted: number[]): boolean {
  for (let i = 0; i < wanted.length; i += 1) {
    const have = version[i] ?? 0;
    const want = wanted[i] ?? 0;
    if (have !== want) return have > want;
  }
  return true;
}

export function nginxFeatures(versionOutput: string): NginxFeatures {
  const version = /nginx version: [^/\s]+\/(\d+\.\d+\.\d+)/.exec(versionOutput)?.[1] ?? "";
  const parts = version === "" ? [0] : version.split(".").map(Number);
  const modules = [
    ...new Set(
      [...versionOutput.matchAll(/--with-([a-z0-9_]+_module)\b/g)].map((m) => m[1] as string),
    ),
  ].sort();
  return {
    version,
    supportsHttp3: atLeast(parts, [1, 25, 0]) && modules.includes("http_v3_module"),
    http2Directive: atLeast(parts, [1, 25, 1]),
    modules,
  };
}

/** Where an nginx build looks by default, from `nginx -V`'s configure arguments. */
export interface NginxBuildPaths {
  /** --prefix: relative paths in a configuration (pid, error_log) resolve against it. */
  prefix: string;
  /** --conf-path: the main configuration nginx reads without -c. */
  confPath: string;
  /** --pid-path: the pid file when the configuration names none. */
  pidPath: string;
  /** --error-log-path: where errors go when the configuration names no error_log; may be "stderr". */
  errorLogPath: string;
}

/** The build's default paths, made absolute; nginx's own defaults for those -V does not name. */
export function nginxBuildPaths(versionOutput: string): NginxBuildPaths {
  const option = (name: string) => {
    // Values are shell-quoted when they hold spaces: 'a b' or a bare word.
    const match = new RegExp(`--${name}=(?:'([^']*)'|(\\S+))`).exec(versionOutput);
    return match ? (match[1] ?? match[2]) : undefined;
  };
  let prefix = option("prefix") ?? "/usr/local/nginx";
  if (!prefix.endsWith("/")) prefix += "/";
  const absolute = (path: string) =>
    path.startsWith("/") || path === "stderr" ? path : `${prefix}${path}`;
  return {
    prefix,
    confPath: absolute(option("conf-path") ?? "conf/nginx.conf"),
    pidPath: absolute(option("pid-path") ?? "logs/nginx.pid"),
    errorLogPath: absolute(option("error-log-path") ?? "logs/error.log"),
  };
}
