/**
 * Carries out a service plan on a system: the binary in place, the user, the
 * 0700 data dir, the token's 0600 file, the unit, and systemd told. With a
 * root other than "/" (an SD card's mounted image) the same steps write into
 * that tree and systemd only enables the unit there.
 */
import { execFile } from "node:child_process";
import { chmod, chown, copyFile, mkdir, readdir, realpath, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readTextIfExists, writeFileAtomic, writeSecretFile } from "../../lib/files/index.ts";
import type { ServicePlan } from "./plan.ts";
import { renderUnit } from "./unit.ts";

/** The system the service goes into. */
export interface TargetSystem {
  /** "/" for this machine, or the root of an image. */
  root: string;
  /** Runs a program (useradd, systemctl); rejects with its output when it fails. */
  run(program: string, args: string[]): Promise<void>;
  /** systemd is running here (and root is "/"): units are started, not only enabled. */
  booted: boolean;
}

/** The real one: programs through execFile, systemd detected as sd_booted() does. */
export async function targetSystem(root: string): Promise<TargetSystem> {
  const booted =
    root === "/" &&
    (await readdir("/run/systemd/system").then(
      () => true,
      () => false,
    ));
  return {
    root,
    booted,
    run: (program, args) =>
      new Promise((done, fail) => {
        execFile(program, args, { timeout: 60_000 }, (error, _stdout, stderr) => {
          if (error === null) return done();
          const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
          fail(
            new Error(
              missing
                ? `${program} is not installed: drover service writes systemd units for systemd systems`
                : `${program} ${args.join(" ")} failed: ${stderr.trim() || error.message}`,
            ),
          );
        });
      }),
  };
}

const inRoot = (system: TargetSystem, path: string) => join(system.root, path);
const rootFlags = (system: TargetSystem, flag: string) =>
  system.root === "/" ? [] : [`${flag}=${system.root}`];

/** uid and gid of `user` in the target's /etc/passwd, or undefined. */
async function idsOf(
  system: TargetSystem,
  user: string,
): Promise<{ uid: number; gid: number } | undefined> {
  const passwd = (await readTextIfExists(inRoot(system, "/etc/passwd"))) ?? "";
  for (const line of passwd.split("\n")) {
    const [name, , uid, gid] = line.split(":");
    if (name === user) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/** The groups of the target's /etc/group. */
export async function groupsOf(root: string): Promise<Set<string>> {
  const text = (await readTextIfExists(join(root, "/etc/group"))) ?? "";
  return new Set(
    text
      .split("\n")
      .map((line) => line.split(":")[0] ?? "")
      .filter(Boolean),
  );
}

async function chownTree(path: string, ids: { uid: number; gid: number }): Promise<void> {
  await chown(path, ids.uid, ids.gid);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await chownTree(child, ids);
    else await chown(child, ids.uid, ids.gid);
  }
}

/** Puts the running executable at the unit's binary path (an upgrade replaces it the same way). */
async function placeBinary(
  system: TargetSystem,
  executable: string,
  binary: string,
): Promise<boolean> {
  const target = inRoot(system, binary);
  const same = await Promise.all([realpath(executable), realpath(target).catch(() => "")]);
  if (same[0] === same[1]) return false;
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.new-${process.pid}`;
  await copyFile(executable, temp);
  await chmod(temp, 0o755);
  await rename(temp, target);
  return true;
}

export interface InstallReport {
  /** What was done, one line each, for the person who ran it. */
  steps: string[];
  started: boolean;
}

export async function installService(
  plan: ServicePlan,
  system: TargetSystem,
  executable: string,
): Promise<InstallReport> {
  const steps: string[] = [];
  const binary = plan.unit.exec[0] ?? "";
  if (await placeBinary(system, executable, binary))
    steps.push(`copied ${executable} to ${binary}`);
  let ids = plan.user === "root" ? { uid: 0, gid: 0 } : await idsOf(system, plan.user);
  if (ids === undefined) {
    await system.run("useradd", [
      ...rootFlags(system, "--prefix"),
      "--system",
      "--user-group",
      "--home-dir",
      plan.dataDir,
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      plan.user,
    ]);
    ids = await idsOf(system, plan.user);
    if (ids === undefined) throw new Error(`useradd did not create ${plan.user}`);
    steps.push(`created system user ${plan.user}`);
  }
  const dataDir = inRoot(system, plan.dataDir);
  await mkdir(dataDir, { recursive: true });
  await chmod(dataDir, 0o700);
  // Everything in it is the service's: a data dir first run by hand as root must become readable.
  await chownTree(dataDir, ids);
  steps.push(`data dir ${plan.dataDir} (0700, ${plan.user})`);
  if (plan.environment) {
    const path = inRoot(system, plan.environment.path);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeSecretFile(path, plan.environment.text);
    steps.push(`join token in ${plan.environment.path} (0600, root)`);
  }
  await writeFileAtomic(inRoot(system, plan.unitPath), renderUnit(plan.unit), 0o644);
  steps.push(`unit ${plan.unitPath}`);
  const unit = `${plan.name}.service`;
  if (system.booted) {
    await system.run("systemctl", ["daemon-reload"]);
    await system.run("systemctl", ["enable", "--now", unit]);
    steps.push(`enabled and started ${unit}`);
  } else {
    await system.run("systemctl", [...rootFlags(system, "--root"), "enable", unit]);
    steps.push(
      `enabled ${unit}: systemd is not running ${system.root === "/" ? "here" : `in ${system.root}`}, so it starts at the next boot`,
    );
  }
  return { steps, started: system.booted };
}

/** The data dir and user an installed unit names (it was written by renderUnit). */
function installedOf(unitText: string): { dataDir?: string; user: string } {
  const exec = /^ExecStart=(.*)$/m.exec(unitText)?.[1]?.split(" ") ?? [];
  const at = exec.indexOf("--data-dir");
  return {
    ...(at >= 0 && exec[at + 1] ? { dataDir: exec[at + 1] } : {}),
    user: /^User=(.*)$/m.exec(unitText)?.[1] ?? "root",
  };
}

export async function uninstallService(
  plan: { name: string; unitPath: string; environmentPath?: string },
  system: TargetSystem,
  purge: boolean,
): Promise<string[]> {
  const unitPath = inRoot(system, plan.unitPath);
  const text = await readTextIfExists(unitPath);
  if (text === undefined)
    throw new Error(`${plan.name} is not installed: there is no ${plan.unitPath}`);
  const unit = `${plan.name}.service`;
  const steps: string[] = [];
  if (system.booted) await system.run("systemctl", ["disable", "--now", unit]);
  else await system.run("systemctl", [...rootFlags(system, "--root"), "disable", unit]);
  steps.push(system.booted ? `stopped and disabled ${unit}` : `disabled ${unit}`);
  await rm(unitPath);
  steps.push(`removed ${plan.unitPath}`);
  if (
    plan.environmentPath &&
    (await readTextIfExists(inRoot(system, plan.environmentPath))) !== undefined
  ) {
    await rm(inRoot(system, plan.environmentPath));
    steps.push(`removed ${plan.environmentPath}`);
  }
  if (system.booted) await system.run("systemctl", ["daemon-reload"]);
  const installed = installedOf(text);
  if (purge) {
    if (installed.dataDir) {
      await rm(inRoot(system, installed.dataDir), { recursive: true, force: true });
      steps.push(`removed data dir ${installed.dataDir}`);
    }
    if (installed.user !== "root") {
      await system.run("userdel", [...rootFlags(system, "--prefix"), installed.user]);
      steps.push(`removed user ${installed.user}`);
    }
  } else if (installed.dataDir) {
    steps.push(
      `kept data dir ${installed.dataDir} and user ${installed.user} (--purge removes them)`,
    );
  }
  return steps;
}
