import { invalidField, isDroverError } from "../errors/index.ts";
import { compare } from "./conf-text.ts";
import { emit } from "./emit.ts";
import type { PlannedHost, PlannedUpstream } from "./emit-server.ts";
import { at, type FieldPath, fieldName } from "./field.ts";
import { checkArray } from "./grammar.ts";
import type {
  NginxCompileOptions,
  NginxCompileResult,
  NginxHostOutcome,
  NginxModel,
  NginxUpstreamOutcome,
} from "./model.ts";
import {
  type CheckedHost,
  type CheckedServer,
  type CheckedUpstream,
  checkGlobal,
  checkHost,
  checkOptions,
  checkUpstream,
} from "./validate.ts";

// The output's names, where they were before emit.ts and emit-server.ts held them.
export { ACCESS_LOG_FIELDS, ACCESS_LOG_FORMAT, STUB_STATUS_PATH } from "./emit.ts";
export { ACME_CHALLENGE_PATH, DEFAULT_PROXY_HEADERS } from "./emit-server.ts";

/** The file an include-layout compile writes: the one file the agent owns in the system's conf dir. */
export const NGINX_INCLUDE_FILE = "drover.conf";

/** The name nginx knows an upstream by: the `_` keeps it apart from every DNS name. */
export function nginxUpstreamName(upstreamId: string): string {
  return `drover_${upstreamId}`;
}

interface Problem {
  reason: string;
  field?: string;
}

function problemOf(error: unknown): Problem {
  if (!isDroverError(error)) throw error;
  const field = error.details[0]?.field;
  return field === undefined ? { reason: error.message } : { reason: error.message, field };
}

/** An upstream after resolution: what will be emitted, or why it cannot be. */
interface ResolvedUpstream extends PlannedUpstream {
  unusable?: Problem;
}

/**
 * Compiles the model into a complete nginx.conf (options.layout "main") or
 * into drover.conf, a fragment for the http {} block of a system nginx
 * ("include"). Pure: the same model and options give the same bytes, and the
 * only view of the machine is through options (certificateAvailable,
 * resolvable, downServers).
 *
 * The include layout writes no main or events context, no runtime paths, no
 * default_type or server_tokens: the system's nginx.conf has them. At http
 * level it writes only what it must or what cannot clash: upstreams (named
 * drover_*), servers, the status server, `log_format drover_json` (when
 * global.accessLogPath is set) and server_names_hash_* (only when a size
 * exceeds nginx's default; a system nginx.conf that sets it too makes nginx
 * refuse the pair as "duplicate"). What main layout sets at http level for
 * every host goes into each of its server blocks instead, so that it neither
 * clashes nor reaches the system's own sites: `ssl_protocols` (Debian's
 * nginx.conf sets it at http level; each TLS server overrides it, though on a
 * port shared with a system TLS server the port's default server decides),
 * `access_log`, the default proxy_set_header lines and global.directives.
 * Default servers only with options.defaultServers true.
 *
 * Throws a DroverError invalid_argument naming the field for input nginx
 * would refuse or misread (with options.invalid "set_aside", only for global
 * settings, options and duplicate ids). Hosts that cannot be served on this
 * machine right now — certificate files missing, a proxied host name that
 * does not resolve, an upstream left without servers, a port or name already
 * taken — are set aside with a reason while the others compile.
 */
export function compileNginxConfig(
  model: NginxModel,
  options: NginxCompileOptions,
): NginxCompileResult {
  checkOptions(options);
  if (model === null || typeof model !== "object") throw invalidField("model", "must be an object");
  const global = checkGlobal(model.global);
  const setAsideInvalid = options.invalid === "set_aside";

  // Upstreams: check, then resolve their servers.
  const upstreamsIn = model.upstreams ?? [];
  checkArray("upstreams", upstreamsIn, 10_000);
  const upstreamIds = new Set<string>();
  const upstreams = new Map<string, ResolvedUpstream | Problem>();
  upstreamsIn.forEach((upstream, i) => {
    const id = (upstream as { id?: unknown } | null)?.id;
    if (typeof id === "string" && upstreamIds.has(id)) {
      throw invalidField(`upstreams.${i}.id`, `duplicates upstream ${id}`);
    }
    let checked: CheckedUpstream;
    try {
      checked = checkUpstream(at("upstreams", i), upstream);
    } catch (error) {
      if (!setAsideInvalid || typeof id !== "string") throw error;
      upstreamIds.add(id);
      upstreams.set(id, problemOf(error));
      return;
    }
    upstreamIds.add(checked.id);
    upstreams.set(checked.id, planUpstream(checked, at("upstreams", i), options));
  });

  // Virtual hosts: check in the order given (the first error is the first in the model).
  const hostsIn = model.virtualHosts;
  checkArray("virtual_hosts", hostsIn, 100_000);
  const hostIds = new Set<string>();
  const checkedHosts: Array<{ host: CheckedHost; index: number }> = [];
  const outcomes = new Map<string, NginxHostOutcome>();
  hostsIn.forEach((host, i) => {
    const id = (host as { id?: unknown } | null)?.id;
    if (typeof id === "string" && hostIds.has(id)) {
      throw invalidField(`virtual_hosts.${i}.id`, `duplicates virtual host ${id}`);
    }
    try {
      const checked = checkHost(at("virtual_hosts", i), host, upstreamIds);
      hostIds.add(checked.id);
      checkedHosts.push({ host: checked, index: i });
    } catch (error) {
      if (!setAsideInvalid || typeof id !== "string") throw error;
      hostIds.add(id);
      outcomes.set(id, { id, status: "set_aside", ...problemOf(error) });
    }
  });

  // Which hosts this machine can serve. Ports and names go to the host listed
  // first, so listing the oldest first keeps existing hosts up when a new one clashes.
  const planned: PlannedHost[] = [];
  const ports = new Map<number, PortClaim>();
  const quicPorts = new Set<number>();
  for (const { host, index } of checkedHosts) {
    const problem = servable(host, upstreams, options) ?? claim(host, ports);
    if (problem) {
      const at =
        problem.field === undefined ? {} : { field: `virtual_hosts.${index}.${problem.field}` };
      outcomes.set(host.id, { id: host.id, status: "set_aside", reason: problem.reason, ...at });
      continue;
    }
    const notes: string[] = [];
    if (host.http2 && !host.tls) {
      notes.push("http2 needs TLS: served as HTTP/1.1");
    }
    let quicReuseport = false;
    if (host.http3) {
      if (options.supportsHttp3) {
        quicReuseport = !quicPorts.has(host.listenPort);
        quicPorts.add(host.listenPort);
      } else {
        notes.push("http3 is not supported by this nginx: served over TCP only");
      }
    }
    for (const location of host.locations) {
      if (location.target.kind !== "upstream") continue;
      const upstream = upstreams.get(location.target.upstreamId) as ResolvedUpstream;
      if (upstream.skipped.length > 0) {
        notes.push(
          `upstream ${upstream.checked.id}: left out ${upstream.skipped.join(", ")} (not resolvable)`,
        );
      }
    }
    planned.push({ host, quicReuseport });
    outcomes.set(host.id, { id: host.id, status: "applied", notes: distinct(notes) });
  }

  planned.sort((a, b) => compare(a.host.id, b.host.id));
  const used = new Map<string, PlannedUpstream>();
  for (const { host } of planned) {
    for (const location of host.locations) {
      const target = location.target;
      if (target.kind === "upstream" && !used.has(target.upstreamId)) {
        used.set(target.upstreamId, upstreams.get(target.upstreamId) as ResolvedUpstream);
      }
    }
  }
  const content = emit(global, planned, used, options);

  const upstreamOutcomes: NginxUpstreamOutcome[] = [...upstreams.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([id, plan]): NginxUpstreamOutcome => {
      if (!("checked" in plan)) return { id, status: "set_aside", ...plan };
      if (plan.unusable) return { id, status: "set_aside", ...plan.unusable };
      if (!used.has(id)) return { id, status: "unused" };
      return {
        id,
        status: "applied",
        name: plan.name,
        skippedServers: plan.skipped,
        markedDown: plan.markedDown,
      };
    });

  return {
    files: [{ path: options.layout === "include" ? NGINX_INCLUDE_FILE : "nginx.conf", content }],
    hosts: [...outcomes.values()].sort((a, b) => compare(a.id, b.id)),
    upstreams: upstreamOutcomes,
  };
}

/** An upstream's emitted servers: resolvable ones, with the agent's down marks. */
function planUpstream(
  checked: CheckedUpstream,
  field: FieldPath,
  options: NginxCompileOptions,
): ResolvedUpstream {
  const down = new Set(
    Object.hasOwn(options.downServers ?? {}, checked.id)
      ? (options.downServers?.[checked.id] ?? [])
      : [],
  );
  const skipped: string[] = [];
  const markedDown: string[] = [];
  const servers: CheckedServer[] = [];
  for (const server of checked.servers) {
    if (!server.host.ip && !options.resolvable(server.host.host)) {
      skipped.push(server.address);
      continue;
    }
    if (down.has(server.address)) {
      if (!markedDown.includes(server.address)) markedDown.push(server.address);
      servers.push({ ...server, down: true });
    } else {
      servers.push(server);
    }
  }
  const plan: ResolvedUpstream = {
    checked,
    name: nginxUpstreamName(checked.id),
    servers,
    skipped,
    markedDown,
  };
  if (!servers.some((server) => !server.backup)) {
    plan.unusable = {
      reason: `upstream ${checked.id}: no server that is not a backup resolves (left out: ${skipped.join(", ")})`,
      field: fieldName(at(field, "servers")),
    };
  }
  return plan;
}

/** Each note once, in the order first written. */
function distinct(notes: string[]): string[] {
  return notes.length < 2 ? notes : [...new Set(notes)];
}

/** Why this machine cannot serve the host now, if it cannot. */
function servable(
  host: CheckedHost,
  upstreams: ReadonlyMap<string, ResolvedUpstream | Problem>,
  options: NginxCompileOptions,
): Problem | undefined {
  if (host.listenPort === options.statusPort) {
    return {
      reason: `port ${host.listenPort} is the agent's status port`,
      field: "listen_port",
    };
  }
  if (host.tls && !options.certificateAvailable(host.tls)) {
    return {
      reason: `certificate ${host.tls.certificateId} is not available (${host.tls.certificatePath}, ${host.tls.keyPath})`,
      field: "tls.certificate_id",
    };
  }
  for (const [i, location] of host.locations.entries()) {
    const target = location.target;
    if (target.kind === "proxy" && !target.ip && !options.resolvable(target.host)) {
      return {
        reason: `location ${location.path}: host ${target.host} does not resolve`,
        field: `locations.${i}.proxy_pass`,
      };
    }
    if (target.kind === "upstream") {
      const upstream = upstreams.get(target.upstreamId);
      const problem =
        upstream === undefined || !("checked" in upstream) ? upstream : upstream.unusable;
      if (problem) {
        return {
          reason: `location ${location.path}: upstream ${target.upstreamId} cannot be used: ${problem.reason}`,
          field: `locations.${i}.upstream_id`,
        };
      }
    }
  }
  return undefined;
}

/** Who holds a port: its mode, set by the first host on it, and each name's host. */
interface PortClaim {
  tls: boolean;
  by: string;
  /** Lowercased server name → host id. */
  names: Map<string, string>;
}

/**
 * Claims the host's port and names. nginx turns a port TLS for every server
 * on it if one server says `ssl`, and keeps only the first server of a name on
 * a port; the host listed later in the model is set aside instead.
 */
function claim(host: CheckedHost, ports: Map<number, PortClaim>): Problem | undefined {
  const tls = host.tls !== null;
  const port = ports.get(host.listenPort);
  if (port && port.tls !== tls) {
    return {
      reason: `port ${host.listenPort} serves ${port.tls ? "TLS" : "plain HTTP"} (host ${port.by}); this host wants ${tls ? "TLS" : "plain HTTP"}`,
      field: "listen_port",
    };
  }
  const names = host.serverNames.map((name) => name.toLowerCase());
  for (let i = 0; i < names.length; i += 1) {
    const by = port?.names.get(names[i] as string);
    if (by !== undefined) {
      return {
        reason: `server name ${host.serverNames[i]} on port ${host.listenPort} is already served by host ${by}`,
        field: `server_names.${i}`,
      };
    }
  }
  const claimed = port ?? { tls, by: host.id, names: new Map<string, string>() };
  if (!port) ports.set(host.listenPort, claimed);
  for (const name of names) claimed.names.set(name, host.id);
  return undefined;
}
