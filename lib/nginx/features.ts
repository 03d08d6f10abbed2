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
