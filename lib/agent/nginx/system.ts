/**
 * The agent's nginx applier for `--nginx-mode system`: the machine's own
 * nginx (a distribution package, often under systemd) serves, and the agent
 * owns one file of its configuration, `<confDir>/drover.conf` (confDir from
 * `--nginx-conf-dir DIR`, a directory the system's nginx.conf includes inside
 * http {}; compile with layout "include"). Staged, backup and version files
 * live in stateDir, never in confDir, where the system's include glob could
 * pick them up.
 *
 * The apply sequence, lifecycle and status are core.ts's. Differences:
 * - validate: `nginx -t` of the system's main configuration with the staged
 *   fragment in place of the live one, without ever touching the live one
 *   (see testWith);
 * - the master is the one the main configuration's `pid` names (else
 *   `nginx -V`'s --pid-path); reload is SIGHUP to it, stop and restart act on
 *   it;
 * - the agent starts nginx (`nginx -c mainConfig`) only when ensureRunning or
 *   restart asks; an apply with nginx down puts the file in place and stops
 *   there. A master started this way is not systemd's: prefer leaving nginx
 *   to its supervisor and calling ensureRunning only to adopt.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { DroverError, invalidField } from "../../errors/index.ts";
import { NGINX_INCLUDE_FILE, type NginxBuildPaths, nginxBuildPaths } from "../../nginx/index.ts";
import {
  messageOf,
  nginxBinaryLookup,
  nginxVersionText,
  runNginxTest,
  type ValidationResult,
} from "./command.ts";
import {
  checkStatusPort,
  createManagerCore,
  type MasterFiles,
  type NginxManager,
  type NginxManagerCommonOptions,
  type NginxManagerPaths,
} from "./core.ts";
import {
  globMatches,
  type MainConfigFacts,
  readMainConfig,
  redirectIncludes,
  resolveFromPrefix,
} from "./main-config.ts";

export interface SystemNginxManagerOptions extends NginxManagerCommonOptions {
  /**
   * Absolute directory the system nginx includes inside http {} (e.g.
   * /etc/nginx/conf.d, whose nginx.conf says `include /etc/nginx/conf.d/*.conf;`).
   * The agent writes only NGINX_INCLUDE_FILE there.
   */
  confDir: string;
  /** Absolute directory of the agent's own (inside its data dir), not inside confDir. */
  stateDir: string;
  /** The system's main configuration; default: --conf-path of `nginx -V`. */
  mainConfig?: string;
}

export interface SystemNginxPaths extends NginxManagerPaths {
  /** `<confDir>/drover.conf`: the one file the agent writes in the system's configuration. */
  config: string;
  confDir: string;
  stateDir: string;
}

/** The system nginx as the agent finds it now. */
export interface SystemNginx {
  binary: string;
  mainConfig: string;
  /** From the main configuration's `pid`, else `nginx -V`. */
  pidFile: string;
  /** Where reload errors are logged, when that is a file. */
  errorLog?: string;
}

export interface SystemNginxManager extends NginxManager {
  readonly paths: SystemNginxPaths;
  locate(): Promise<SystemNginx>;
}

export function createSystemNginxManager(options: SystemNginxManagerOptions): SystemNginxManager {
  for (const field of ["confDir", "stateDir"] as const) {
    const value = options[field];
    if (typeof value !== "string" || !isAbsolute(value))
      throw invalidField(field, "must be an absolute path");
  }
  if (options.mainConfig !== undefined && !isAbsolute(options.mainConfig))
    throw invalidField("mainConfig", "must be an absolute path");
  checkStatusPort(options.statusPort);
  const confDir = resolve(options.confDir);
  const stateDir = resolve(options.stateDir);
  const inside = relative(confDir, stateDir);
  if (inside === "" || (!inside.startsWith("..") && !isAbsolute(inside)))
    throw invalidField("stateDir", "must not be inside confDir, where nginx could include it");
  // The test copy names stateDir in an include, where nginx would read these as a glob.
  if (/[*?[]/.test(stateDir)) throw invalidField("stateDir", "must not hold *, ? or [");

  const paths: SystemNginxPaths = {
    confDir,
    stateDir,
    config: join(confDir, NGINX_INCLUDE_FILE),
    versionFile: join(stateDir, "version.json"),
    stagingDir: join(stateDir, "staging"),
    staged: join(stateDir, "staging", NGINX_INCLUDE_FILE),
    backup: join(stateDir, "backup", NGINX_INCLUDE_FILE),
  };
  const binary = nginxBinaryLookup(options.nginxBin);

  // `nginx -V`, only when a default is needed: the build does not change under a running agent.
  let build: Promise<NginxBuildPaths> | undefined;
  function buildPaths(): Promise<NginxBuildPaths> {
    build ??= binary()
      .then(nginxVersionText)
      .then(nginxBuildPaths)
      .catch((error) => {
        build = undefined;
        throw error;
      });
    return build;
  }

  async function mainConfigPath(): Promise<string> {
    return options.mainConfig ?? (await buildPaths()).confPath;
  }

  /** The main configuration's facts, read afresh (an admin may edit it); undefined when unreadable. */
  async function mainFacts(main: string): Promise<MainConfigFacts | undefined> {
    try {
      return readMainConfig(await readFile(main, "utf8"), dirname(main));
    } catch {
      return undefined;
    }
  }

  async function masterFiles(): Promise<MasterFiles> {
    const facts = await mainFacts(await mainConfigPath());
    const fromPrefix = async (path: string) =>
      isAbsolute(path) ? path : resolveFromPrefix(path, (await buildPaths()).prefix);
    const pidFile = await fromPrefix(facts?.pid ?? (await buildPaths()).pidPath);
    let errorLog: string | undefined;
    if (typeof facts?.errorLog === "string") errorLog = await fromPrefix(facts.errorLog);
    else if (facts?.errorLog === undefined) {
      const built = (await buildPaths()).errorLogPath;
      errorLog = built === "stderr" ? undefined : built;
    }
    return { pidFile, errorLog };
  }

  /**
   * `nginx -t -c <copy>`: a copy of the main configuration, beside it (so
   * relative includes resolve as in the original: nginx reads them against
   * the directory of -c), whose includes of confDir point at a mirror of
   * confDir instead: symlinks to its files but drover.conf, which points at
   * the fragment under test. nginx then reads every other file of the
   * system's configuration as it will after the swap, in its own glob order,
   * and nothing live changes. (Swapping the fragment in, testing and
   * restoring would leave an untested file live for that moment: a reload or
   * restart by anyone else then, or a crash of the agent, would serve it.)
   * nginx's messages name the mirror and the copy; they are mapped back to
   * the real paths. Only includes written in the main configuration itself
   * are redirected (Debian, RHEL, Alpine and nginx.org packages include
   * conf.d there); one in a file it includes would test the live fragment
   * alongside the staged one.
   */
  async function testWith(file: string): Promise<ValidationResult> {
    const main = await mainConfigPath();
    let text: string;
    let facts: MainConfigFacts;
    try {
      text = await readFile(main, "utf8");
      facts = readMainConfig(text, dirname(main));
    } catch (error) {
      return {
        ok: false,
        errors: [`cannot read the main configuration ${main}: ${messageOf(error)}`],
      };
    }
    const realConfDir = await realpath(confDir).catch(() => confDir);
    const covering = [];
    for (const include of facts.includes) {
      const dir = dirname(include.pattern);
      const same =
        resolve(dir) === confDir || (await realpath(dir).catch(() => undefined)) === realConfDir;
      if (same && globMatches(basename(include.pattern), NGINX_INCLUDE_FILE))
        covering.push(include);
    }
    if (covering.length === 0) {
      return {
        ok: false,
        errors: [
          `${main} does not include ${paths.config}: add "include ${confDir}/*.conf;" to its http {} block`,
        ],
      };
    }
    let mirror: string | undefined;
    const copy = join(dirname(main), `.drover-test-${randomBytes(6).toString("hex")}.conf`);
    try {
      mirror = await mkdtemp(join(paths.stagingDir, "mirror-"));
      let entries: string[] = [];
      try {
        entries = await readdir(confDir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      for (const name of entries) {
        if (name !== NGINX_INCLUDE_FILE) await symlink(join(confDir, name), join(mirror, name));
      }
      await symlink(file, join(mirror, NGINX_INCLUDE_FILE));
      await writeFile(copy, redirectIncludes(text, covering, mirror), { flag: "wx", mode: 0o644 });
      const result = await runNginxTest(await binary(), ["-q", "-c", copy]);
      const mirrorDir = mirror;
      const real = (line: string) =>
        line.replaceAll(`${mirrorDir}/`, `${confDir}/`).replaceAll(copy, main);
      return { ok: result.ok, errors: result.errors.map(real) };
    } catch (error) {
      return { ok: false, errors: [`cannot test against ${main}: ${messageOf(error)}`] };
    } finally {
      await rm(copy, { force: true });
      if (mirror !== undefined) await rm(mirror, { recursive: true, force: true });
    }
  }

  const core = createManagerCore(
    {
      paths,
      directories: [paths.stagingDir, dirname(paths.backup)],
      describe: { confDir },
      masterFiles,
      test: (file) => testWith(file),
      async startArgs() {
        const main = await mainConfigPath();
        if (!existsSync(main)) {
          throw new DroverError("failed_precondition", `no nginx main configuration at ${main}`);
        }
        if ((await mainFacts(main))?.daemonOff) {
          throw new DroverError(
            "failed_precondition",
            `${main} says "daemon off;": nginx -c would not return; start it with its supervisor`,
          );
        }
        return ["-c", main];
      },
      startOnApply: false,
    },
    options,
    binary,
  );

  return {
    paths,
    layout: "include",
    runtime: {},
    ...core,
    async locate() {
      const [bin, mainConfig, files] = await Promise.all([
        binary(),
        mainConfigPath(),
        masterFiles(),
      ]);
      return {
        binary: bin,
        mainConfig,
        pidFile: files.pidFile,
        ...(files.errorLog === undefined ? {} : { errorLog: files.errorLog }),
      };
    },
  };
}
