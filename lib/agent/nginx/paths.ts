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
  tempDir: string;
}

export function nginxPaths(prefix: string): NginxPaths {
  return {
    prefix,
    config: join(prefix, "conf", "nginx.conf"),
    versionFile: join(prefix, "conf", "version.json"),
    stagingDir: join(prefix, "staging"),
    staged: join(prefix, "staging", "nginx.conf"),
    backup: join(prefix, "backup", "nginx.conf"),
    pidFile: join(prefix, "logs", "nginx.pid"),
    errorLog: join(prefix, "logs", "error.log"),
    tempDir: join(prefix, "tmp"),
  };
}

/**
 * What compileNginxConfig's options.runtime must be for a configuration this
 * prefix runs: the manager finds the master through the pid file, reads
 * reload errors from the error log and keeps temp files inside the prefix.
 */
export function nginxRuntimePaths(prefix: string): NginxRuntimePaths {
  const paths = nginxPaths(prefix);
  return { pidPath: paths.pidFile, errorLogPath: paths.errorLog, tempDir: paths.tempDir };
}
