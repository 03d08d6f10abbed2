/**
 * What `drover service install server|agent` sets up: from the command's own
 * flags, the unit, its user, its data dir and (agents) the join token's file.
 * Pure: install.ts carries it out, --dry-run prints it.
 */
import { isAbsolute, resolve } from "node:path";
import { parseHostPort } from "../../lib/net/index.ts";
import type { FlagSpec } from "../flags.ts";
import { UsageError } from "../flags.ts";
import type { ServiceUnit } from "./unit.ts";

export type ServiceKind = "server" | "agent";

export type GivenFlags = Record<string, string | string[] | boolean | undefined>;

export interface PlanRequest {
  kind: ServiceKind;
  /** Where the unit runs drover from (absolute). */
  binary: string;
  /** The command's own flags as parsed (defaults filled in). */
  flags: GivenFlags;
  /** That command's flag spec: which flags it has, their defaults and kinds. */
  spec: FlagSpec;
  /** Relative paths in flags mean this directory, as on the command line. */
  cwd: string;
  /** Groups on the target system (a `gpio` group gives the agent the GPIO lines). */
  groups: ReadonlySet<string>;
}

export interface ServicePlan {
  /** The unit's name without ".service": drover-server or drover-agent. */
  name: string;
  unitPath: string;
  unit: ServiceUnit;
  user: string;
  dataDir: string;
  /** The root-only file the unit reads the join token from, and its text. */
  environment?: { path: string; text: string };
}

export const defaultDataDirs: Record<ServiceKind, string> = {
  server: "/var/lib/drover",
  agent: "/var/lib/drover-agent",
};

/** Where a service's files go, whatever its flags: what uninstall removes. */
export function servicePaths(kind: ServiceKind): {
  name: string;
  unitPath: string;
  environmentPath?: string;
} {
  const name = `drover-${kind}`;
  return {
    name,
    unitPath: `/etc/systemd/system/${name}.service`,
    ...(kind === "agent" ? { environmentPath: "/etc/drover/agent.env" } : {}),
  };
}

/** One user per service: an agent on the server's machine cannot read the fleet CA's key. */
const users: Record<ServiceKind, string> = { server: "drover", agent: "drover-agent" };

/** Flags whose values are paths: made absolute, since a unit has no working directory of yours. */
const pathFlags = new Set([
  "data-dir",
  "config",
  "static-root",
  "nginx-conf-dir",
  "nginx-main-conf",
  "acme-ca-file",
]);

/** Paths systemd reads back unchanged in ReadWritePaths= and on the command line. */
const plainPath = /^\/[A-Za-z0-9_@+=:,./-]*$/;

function absolutePath(flag: string, value: string, cwd: string): string {
  const path = resolve(cwd, value);
  if (!plainPath.test(path))
    throw new UsageError(
      `--${flag} ${value}: a service's paths may hold only letters, digits and _@+=:,./- (no spaces, % or $)`,
    );
  return path;
}

function absoluteFlag(flag: string, value: string, cwd: string): string {
  if (pathFlags.has(flag)) return absolutePath(flag, value, cwd);
  // A bare nginx name is looked up on PATH; a path is relative to the working directory.
  if (flag === "nginx-bin" && value.includes("/")) return absolutePath(flag, value, cwd);
  return value;
}

/** The ports of the address flags given: below 1024 needs CAP_NET_BIND_SERVICE. */
function portsOf(flags: GivenFlags): number[] {
  return Object.entries(flags)
    .filter(([name, value]) => name.endsWith("-addr") && typeof value === "string")
    .map(([name, value]) => parseHostPort(String(value), `--${name}`).port);
}

function underHome(path: string): boolean {
  return ["/home/", "/root/", "/run/user/"].some((home) => `${path}/`.startsWith(home));
}

const tokenText = /^[A-Za-z0-9_.-]+$/;

export function planService(request: PlanRequest): ServicePlan {
  const { kind, flags, spec, cwd } = request;
  if (!isAbsolute(request.binary) || !plainPath.test(request.binary))
    throw new UsageError(
      `--binary ${request.binary}: give an absolute path without spaces, % or $`,
    );
  const dataDir = absolutePath("data-dir", String(flags["data-dir"] ?? defaultDataDirs[kind]), cwd);
  const exec = [request.binary, kind, "--data-dir", dataDir];
  const paths: string[] = [];
  for (const [name, flag] of Object.entries(spec)) {
    const value = flags[name];
    // The token goes to the environment file; the data dir is placed above.
    if (name === "token" || name === "data-dir" || value === undefined || value === false) continue;
    if (flag.kind === "boolean") exec.push(`--${name}`);
    else if (Array.isArray(value)) {
      for (const item of value) exec.push(`--${name}`, absoluteFlag(name, item, cwd));
      if (pathFlags.has(name)) paths.push(...value.map((item) => absoluteFlag(name, item, cwd)));
    } else if (value !== flag.default) {
      const given = absoluteFlag(name, String(value), cwd);
      exec.push(`--${name}`, given);
      if (pathFlags.has(name)) paths.push(given);
    }
  }
  const protectHome = [dataDir, ...paths].some(underHome) ? "read-only" : "yes";
  const { name, unitPath, environmentPath } = servicePaths(kind);
  if (kind === "server") {
    const privileged = portsOf(flags).some((port) => port > 0 && port < 1024);
    return {
      name,
      unitPath,
      user: users.server,
      dataDir,
      unit: {
        description: "Drover control plane (server)",
        exec,
        user: users.server,
        dataDir,
        writablePaths: [],
        capabilities: privileged ? ["CAP_NET_BIND_SERVICE"] : [],
        protectHome,
        privateDevices: true,
        supplementaryGroups: [],
        // One descriptor per connected agent, and the systemd default soft limit is 1,024.
        openFiles: 65_536,
      },
    };
  }
  const token = flags.token;
  if (typeof token === "string" && !tokenText.test(token))
    throw new UsageError("--token is not a join token: copy it whole from drover token create");
  const environment =
    typeof token === "string" && environmentPath !== undefined
      ? {
          path: environmentPath,
          text: `# The join token, used once at the first start.\nDROVER_TOKEN=${token}\n`,
        }
      : undefined;
  const nginxMode = String(flags["nginx-mode"] ?? "off");
  // The system's nginx is root's: its master is signalled to reload, its conf dir written.
  const user = nginxMode === "system" ? "root" : users.agent;
  const confDir = flags["nginx-conf-dir"];
  const writablePaths =
    nginxMode === "system" && typeof confDir === "string"
      ? // "-": nginx's log and state dirs may not exist on every distribution.
        [absolutePath("nginx-conf-dir", confDir, cwd), "-/var/log/nginx", "-/var/lib/nginx"]
      : [];
  // Declared GPIO lines and commands need the machine's devices.
  const declaresHardware = flags.config !== undefined;
  return {
    name,
    unitPath,
    user,
    dataDir,
    ...(environment ? { environment } : {}),
    unit: {
      description: "Drover agent",
      exec,
      user,
      dataDir,
      writablePaths,
      ...(environment ? { environmentFile: environment.path } : {}),
      // Managed nginx binds the sites' ports (80, 443) as this user.
      capabilities: nginxMode === "managed" ? ["CAP_NET_BIND_SERVICE"] : [],
      protectHome,
      privateDevices: !declaresHardware,
      supplementaryGroups:
        declaresHardware && request.groups.has("gpio") && user !== "root" ? ["gpio"] : [],
    },
  };
}
