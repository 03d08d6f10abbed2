/**
 * The agent's nginx applier for `--nginx-mode managed`.
 *
 * nginx runs as its own daemonized master (`-p prefix -c prefix/conf/nginx.conf`)
 * and outlives the agent: a new manager on the same prefix adopts the master
 * named by the pid file instead of starting a second one. The apply
 * sequence, lifecycle and status are core.ts's; this file says where the
 * prefix keeps things and how `nginx -t` and a start see them.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { DroverError, invalidField } from "../../errors/index.ts";
import { nginxBinaryLookup, runNginxTest } from "./command.ts";
import {
  checkStatusPort,
  createManagerCore,
  type NginxManager,
  type NginxManagerCommonOptions,
} from "./core.ts";
import { readMainConfig } from "./main-config.ts";
import { type NginxPaths, nginxPaths, nginxRuntimePaths } from "./paths.ts";

export type {
  ApplyPhase,
  ApplyReport,
  ApplyStatus,
  ApplyStep,
  CommandResult,
  NginxManager,
  NginxManagerCommonOptions,
  NginxManagerHooks,
  NginxManagerPaths,
  NginxStatus,
  RunningNginx,
  StopResult,
  ValidationResult,
} from "./core.ts";

export interface NginxManagerOptions extends NginxManagerCommonOptions {
  /** Absolute directory nginx runs in, inside the agent data dir. */
  prefix: string;
  /**
   * Absolute directory for nginx's temp files (request bodies and responses
   * past its buffers), which its workers must be able to reach; default
   * `<prefix>/tmp`. See managedNginxTempDir. Created 0711; nginx creates the
   * per-kind directories in it, owned by its worker user.
   */
  tempDir?: string;
}

export interface ManagedNginxManager extends NginxManager {
  readonly paths: NginxPaths;
}

export function createNginxManager(options: NginxManagerOptions): ManagedNginxManager {
  if (typeof options.prefix !== "string" || !isAbsolute(options.prefix))
    throw invalidField("prefix", "must be an absolute path");
  if (options.tempDir !== undefined && !isAbsolute(options.tempDir))
    throw invalidField("tempDir", "must be an absolute path");
  checkStatusPort(options.statusPort);
  const paths = nginxPaths(options.prefix, options.tempDir);
  const runtime = nginxRuntimePaths(options.prefix, options.tempDir);
  const prefixArg = `${options.prefix}/`;
  const binary = nginxBinaryLookup(options.nginxBin);

  const core = createManagerCore(
    {
      paths,
      directories: [
        dirname(paths.config),
        paths.stagingDir,
        dirname(paths.backup),
        dirname(paths.pidFile),
        // Workers (nobody, under a root master) pass through it to their own per-kind directories.
        { path: paths.tempDir, mode: 0o711 },
      ],
      describe: { prefix: options.prefix },
      masterFiles: async () => ({ pidFile: paths.pidFile, errorLog: paths.errorLog }),
      async test(file, text) {
        let pid: string | undefined;
        try {
          pid = readMainConfig(text, dirname(file)).pid;
        } catch {
          // Unreadable: nginx -t below says why, in its own words.
          pid = paths.pidFile;
        }
        if (pid !== paths.pidFile) {
          return {
            ok: false,
            errors: [
              `the configuration must set "pid ${paths.pidFile};" (compile it with the manager's runtime paths)${pid === undefined ? "" : `, not ${pid}`}`,
            ],
          };
        }
        // -e: the test's own startup log, so it never writes to the live master's.
        const testLog = join(dirname(file), "test-error.log");
        return runNginxTest(await binary(), ["-q", "-p", prefixArg, "-c", file, "-e", testLog]);
      },
      async startArgs() {
        if (!existsSync(paths.config)) {
          throw new DroverError(
            "failed_precondition",
            "no nginx configuration has been applied yet",
          );
        }
        return ["-p", prefixArg, "-c", paths.config, "-e", paths.errorLog];
      },
      startOnApply: true,
    },
    options,
    binary,
  );
  return { paths, runtime, layout: "main", ...core };
}
