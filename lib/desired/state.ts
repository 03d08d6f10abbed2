import { comparePaths, configHash, type DesiredFile, pathProblem } from "../drift/index.ts";
import { invalidField } from "../errors/index.ts";
import {
  compileNginxConfig,
  type NginxCertificate,
  type NginxGlobalSettings,
  type NginxHostOutcome,
  nginxModelFromRows,
} from "../nginx/index.ts";
import type {
  AgentFileRow,
  AgentRow,
  GlobalSettings,
  TlsCertificateRow,
  UpstreamRow,
  VirtualHostRow,
} from "../store/index.ts";
import type { CompileMemo, CompileProbes } from "./compile-memo.ts";
import { agentFilesForAgent } from "./files.ts";
import {
  CERTIFICATE_MODE,
  certificateFilePaths,
  KEY_MODE,
  NGINX_CONFIG_MODE,
  NGINX_DIR,
  underRoot,
} from "./paths.ts";
import { staticRootOutcome } from "./static-roots.ts";
import { hostsForAgent } from "./targeting.ts";
import type { CertificateMaterial, DesiredState, DesiredStateInput } from "./types.ts";

/** The agent's global settings with its workspace's nginx_directives and env_vars. */
function withWorkspaceSettings(
  global: NginxGlobalSettings | undefined,
  settings: GlobalSettings | undefined,
): NginxGlobalSettings | undefined {
  if (settings === undefined) return global;
  return {
    ...global,
    directives: { ...global?.directives, ...settings.nginxDirectives },
    env: { ...settings.envVars },
  };
}

const byId = <T extends { id: string }>(a: T, b: T): number =>
  a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/**
 * The files an agent should hold, derived from the store's rows alone: its
 * nginx.conf (`nginx/nginx.conf`, 0644); for each TLS host it serves, the
 * certificate (`certs/<id>.pem`, 0644) and key (`certs/<id>.key`, 0600,
 * secret); and the workspace's agent files that target it
 * (agentFilesForAgent). Pure: the same rows and options give the same files
 * and hash, in any row order; rows of other workspaces change nothing.
 *
 * A host that cannot be served — its certificate has no material or belongs
 * to another workspace, its selector no longer parses, a location's root lies
 * outside the agent's static roots, the compiler refuses it — is set aside with a reason in `hosts`; the rest are served. Invalid
 * global settings or options throw a DroverError invalid_argument.
 */
/**
 * With `memo` (one per loaded configuration), agents whose inputs to the
 * nginx compile are the same share one compile (createCompileMemo).
 */
export function desiredStateForAgent(input: DesiredStateInput, memo?: CompileMemo): DesiredState {
  const { agent, options } = input;
  if (typeof options.configRoot !== "string" || !options.configRoot.startsWith("/")) {
    throw invalidField("options.config_root", "must be an absolute path");
  }
  if (typeof options.certificateMaterial !== "function") {
    throw invalidField("options.certificate_material", "must be a function");
  }
  const workspaceId = agent.workspaceId;
  const inWorkspace = <T extends { id: string; workspaceId: string }>(rows: readonly T[]): T[] =>
    workspaceId === null ? [] : rows.filter((row) => row.workspaceId === workspaceId).sort(byId);

  const { targeted, setAside } = hostsForAgent(agent, input.virtualHosts);
  const hosts: VirtualHostRow[] = [];
  for (const host of targeted) {
    // Refused when written; a row that slipped past would otherwise be served as plain HTTP.
    if (host.sslEnabled && host.sslCertificateId === null) {
      setAside.push({
        id: host.id,
        status: "set_aside",
        reason: "ssl_enabled without a certificate",
        field: "ssl_certificate_id",
      });
      continue;
    }
    const outsideRoots = staticRootOutcome(host, options.staticRoots ?? []);
    if (outsideRoots !== undefined) setAside.push(outsideRoots);
    else hosts.push(host);
  }
  const upstreams: UpstreamRow[] = inWorkspace(input.upstreams);
  const certificates = new Map<string, TlsCertificateRow>(
    inWorkspace(input.certificates).map((row) => [row.id, row]),
  );

  // One lookup per certificate, so the compile and the files see the same answer.
  const material = new Map<string, CertificateMaterial | undefined>();
  const materialOf = (id: string): CertificateMaterial | undefined => {
    if (!material.has(id)) {
      const found = certificates.has(id) ? options.certificateMaterial(id) : undefined;
      material.set(id, isMaterial(found) ? found : undefined);
    }
    return material.get(id);
  };

  // The compiler asks about every DNS name the configuration proxies to: the agent checks them.
  const names = new Set<string>();
  const resolvable = options.resolvable ?? (() => true);
  const global = withWorkspaceSettings(options.global, input.globalSettings);
  const probes: CompileProbes = {
    resolvable: (name) => {
      names.add(name);
      return resolvable(name);
    },
    certificateFiles: (id) => {
      const paths = certificateFilePaths(id);
      // An id unfit for a file name gets paths no certificate has: certificateAvailable refuses it.
      if (!paths) return { certificatePath: "/", keyPath: "/" };
      const held = materialOf(id);
      const keyPath =
        held !== undefined && "agentKeyPath" in held ? held.agentKeyPath : paths.keyPath;
      return {
        certificatePath: underRoot(options.configRoot, paths.certificatePath),
        keyPath: underRoot(options.configRoot, keyPath),
      };
    },
    certificateAvailable: (id) =>
      certificateFilePaths(id) !== undefined && materialOf(id) !== undefined,
  };
  const compileOptions = {
    statusPort: options.statusPort,
    supportsHttp3: options.nginxFeatures?.supportsHttp3 ?? false,
    http2Directive: options.nginxFeatures?.http2Directive ?? false,
    ...(options.downServers === undefined ? {} : { downServers: options.downServers }),
    ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
    ...(options.layout === undefined ? {} : { layout: options.layout }),
    ...(options.listenAddress === undefined ? {} : { listenAddress: options.listenAddress }),
    ...(options.acmeChallenges === undefined ? {} : { acmeChallenges: options.acmeChallenges }),
    // One bad stored row must not take the agent's other hosts down.
    invalid: "set_aside" as const,
  };
  const compile = (asked: CompileProbes) =>
    compileNginxConfig(
      nginxModelFromRows({
        virtualHosts: hosts,
        upstreams,
        ...(global === undefined ? {} : { global }),
        certificateFiles: asked.certificateFiles,
      }),
      {
        ...compileOptions,
        certificateAvailable: (certificate: NginxCertificate) =>
          asked.certificateAvailable(certificate.certificateId),
        resolvable: asked.resolvable,
      },
    );
  const result =
    memo === undefined
      ? compile(probes)
      : memo.compile(
          input.virtualHosts,
          JSON.stringify([
            hosts.map((host) => host.id),
            options.configRoot,
            global,
            compileOptions,
          ]),
          probes,
          compile,
        );

  const served = new Set(
    result.hosts.filter((outcome) => outcome.status === "applied").map((outcome) => outcome.id),
  );
  const certificateIds = new Set<string>();
  for (const host of hosts) {
    if (served.has(host.id) && host.sslEnabled && host.sslCertificateId !== null)
      certificateIds.add(host.sslCertificateId);
  }
  // The agent's own part: certificate files (per-agent material) and its agent files.
  const ownFiles: DesiredFile[] = [];
  for (const id of certificateIds) {
    const paths = certificateFilePaths(id);
    const pem = materialOf(id);
    // Both hold: certificateAvailable said so before the host was served.
    if (!paths || !pem) continue;
    ownFiles.push({
      path: paths.certificatePath,
      mode: CERTIFICATE_MODE,
      content: pem.certificatePem,
    });
    // A key the agent generated stays where it is: only delivered keys are files here.
    if ("keyPem" in pem)
      ownFiles.push({ path: paths.keyPath, mode: KEY_MODE, content: pem.keyPem, secret: true });
  }
  // Never at Drover's paths: refused when written, and set aside there too.
  const agentFiles = agentFilesForAgent(agent, input.files ?? []);
  ownFiles.push(...agentFiles.files);

  const build = (): DesiredState => {
    const files: DesiredFile[] = result.files.map((file) => ({
      path: `${NGINX_DIR}/${file.path}`,
      mode: NGINX_CONFIG_MODE,
      content: file.content,
    }));
    files.push(...ownFiles);
    files.sort((a, b) => comparePaths(a.path, b.path));
    // The compiler names fields by the host's index in this agent's model; name them from the host.
    const outcomes: NginxHostOutcome[] = [...result.hosts.map(relativeToHost), ...setAside].sort(
      byId,
    );
    return {
      files,
      hash: configHash(files),
      hosts: outcomes,
      upstreams: result.upstreams,
      names: [...names].sort(),
      setAsideFiles: agentFiles.setAside,
    };
  };
  if (memo === undefined) return build();
  // Everything the state holds beyond the shared compile; equal overlays share one state.
  return memo.share(
    result,
    JSON.stringify([[...names].sort(), setAside, agentFiles.setAside, ownFiles]),
    build,
  );
}

/**
 * The desired state of an agent that runs no nginx (`--nginx-mode off`): its
 * agent files alone, no hosts, no names to check.
 */
export function desiredFilesOnly(agent: AgentRow, files: readonly AgentFileRow[]): DesiredState {
  const { files: desired, setAside } = agentFilesForAgent(agent, files);
  desired.sort((a, b) => comparePaths(a.path, b.path));
  return {
    files: desired,
    hash: configHash(desired),
    hosts: [],
    upstreams: [],
    names: [],
    setAsideFiles: setAside,
  };
}

function isMaterial(value: unknown): value is CertificateMaterial {
  const pem = value as
    | { certificatePem?: unknown; keyPem?: unknown; agentKeyPath?: unknown }
    | undefined;
  const filled = (text: unknown) => typeof text === "string" && text !== "";
  return (
    filled(pem?.certificatePem) &&
    (filled(pem?.keyPem) ||
      (typeof pem?.agentKeyPath === "string" && pathProblem(pem.agentKeyPath) === undefined))
  );
}

function relativeToHost(outcome: NginxHostOutcome): NginxHostOutcome {
  if (outcome.status !== "set_aside" || outcome.field === undefined) return outcome;
  return { ...outcome, field: outcome.field.replace(/^virtual_hosts\.\d+\./, "") };
}
