import { createHash } from "node:crypto";
import { join } from "node:path";
import type { NginxRuntimePaths } from "../../nginx/index.ts";
import type { NginxManagerPaths } from "./core.ts";

/** The layout of a managed nginx prefix (a directory inside the agent's data dir). */
export interface NginxPaths extends NginxManagerPaths {
  prefix: string;
  /** The live configuration nginx runs: `-c` of the master. */
  config: string;
  pidFile: string;
  errorLog: string;
  /** Where nginx's workers spill request bodies and responses: `<prefix>/tmp` unless placed elsewhere. */
  tempDir: string;
}

export function nginxPaths(prefix: string, tempDir = join(prefix, "tmp")): NginxPaths {
  return {
    prefix,
    config: join(prefix, "conf", "nginx.conf"),
    versionFile: join(prefix, "conf", "version.json"),
    stagingDir: join(prefix, "staging"),
    staged: join(prefix, "staging", "nginx.conf"),
    backup: join(prefix, "backup", "nginx.conf"),
    pidFile: join(prefix, "logs", "nginx.pid"),
    errorLog: join(prefix, "logs", "error.log"),
    tempDir,
  };
}

/**
 * What compileNginxConfig's options.runtime must be for a configuration this
 * prefix runs: the manager finds the master through the pid file, reads
 * reload errors from the error log and keeps temp files in tempDir.
 */
export function nginxRuntimePaths(prefix: string, tempDir?: string): NginxRuntimePaths {
  const paths = nginxPaths(prefix, tempDir);
  return { pidPath: paths.pidFile, errorLogPath: paths.errorLog, tempDir: paths.tempDir };
}

/** Where root agents' managed nginx temp directories live (systemd: CacheDirectory=drover). */
export const ROOT_NGINX_TEMP_PARENT = "/var/cache/drover";

/**
 * Where a managed nginx under an agent running as `uid` keeps its temp files;
 * undefined: in the prefix. A root master runs its workers as nobody, and
 * they cannot reach into the data dir, which stays 0700 (it holds the
 * agent's keys): so a root agent's go under /var/cache/drover (on disk, not a
 * tmpfs: big bodies must not fill a Pi's RAM), one directory per prefix so
 * two agents on a machine never share one, named by a hash of the prefix
 * (the same on every restart).
 */
export function managedNginxTempDir(prefix: string, uid: number | undefined): string | undefined {
  if (uid !== 0) return undefined;
  const key = createHash("sha256").update(prefix).digest("hex").slice(0, 16);
  return join(ROOT_NGINX_TEMP_PARENT, `nginx-${key}`);
}
