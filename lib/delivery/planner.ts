import {
  type CertificateMaterial,
  type CompileMemo,
  type DesiredState,
  desiredFilesOnly,
  desiredStateForAgent,
  NGINX_DIR,
  type WorkspaceConfig,
} from "../desired/index.ts";
import { contentSha256 } from "../drift/index.ts";
import type {
  AgentRow,
  AgentTlsCertificateRow,
  ConfigHostOutcome,
  TlsCertificateRow,
} from "../store/index.ts";
import { type KeyNeed, keyNeeds, materialFor } from "./keys.ts";
import type { ActiveHealthCheck, SessionHello } from "./types.ts";

/** Everything one agent's plan depends on; the planner reads nothing else. */
export interface PlanInputs {
  agent: AgentRow;
  config: WorkspaceConfig;
  /** The agent's hello, with its latest facts. */
  hello: SessionHello;
  /** Certificates issued to this agent, by certificate record id. */
  own: ReadonlyMap<string, AgentTlsCertificateRow>;
  /** Which providers the server issues per-agent certificates for. */
  issuesFor: (provider: TlsCertificateRow["provider"]) => boolean;
  /** The PEM files of a certificate record the server holds. */
  certificateMaterial: (certificateId: string) => CertificateMaterial | undefined;
  /** Open ACME HTTP-01 challenges of the agent's workspace: token → key authorization. */
  challenges: ReadonlyMap<string, string> | undefined;
  now: Date;
  /** Records to renew now, whatever their lifetime. */
  renewNow: ReadonlySet<string>;
  /** Records whose last issuance failed: no key is asked for them. */
  keyFailures: ReadonlySet<string>;
  /** Shared by the agents planned from one loaded configuration: equal inputs compile once. */
  compileMemo?: CompileMemo;
}

/** One agent's computed desired state, before it is recorded and sent. */
export interface AgentPlan {
  desired: DesiredState;
  hosts: ConfigHostOutcome[];
  healthChecks: ActiveHealthCheck[];
  /** Names to check and health checks, serialized: a change to them alone is sent too. */
  checks: string;
  keyNeeds: KeyNeed[];
  /** The nginx config compiled with open ACME challenges, and the tokens it answers. */
  answering?: { configSha256: string; tokens: Set<string> };
}

/** What follows from a desired state and its configuration alone. */
type Outcomes = Pick<AgentPlan, "hosts" | "healthChecks" | "checks">;

/**
 * Agents of a fan-out share one desired state when their inputs match
 * (createCompileMemo): what follows from it is derived once per state, by
 * identity, for the configuration it was computed from.
 */
const outcomesByState = new WeakMap<DesiredState, Outcomes & { config: WorkspaceConfig }>();

function outcomesOf(config: WorkspaceConfig, desired: DesiredState): Outcomes {
  const known = outcomesByState.get(desired);
  if (known?.config === config) return known;
  const hosts: ConfigHostOutcome[] = desired.hosts.map((host) =>
    host.status === "applied"
      ? { id: host.id, status: "applied" }
      : {
          id: host.id,
          status: "set_aside",
          reason: host.reason,
          ...(host.field === undefined ? {} : { field: host.field }),
        },
  );
  const healthChecks = healthChecksFor(config, desired);
  const outcomes = {
    config,
    hosts,
    healthChecks,
    checks: JSON.stringify([desired.names, healthChecks]),
  };
  outcomesByState.set(desired, outcomes);
  return outcomes;
}

/** What the agent should hold, and what follows from it. Pure: inputs in, plan out. */
export function planAgent(inputs: PlanInputs): AgentPlan {
  const { config, hello } = inputs;
  const desired = desiredFor(inputs);
  const { hosts, healthChecks, checks } = outcomesOf(config, desired);
  const tokens = inputs.challenges;
  const conf =
    hello.nginxMode !== "off" && tokens && tokens.size > 0
      ? desired.files.find((file) => file.path.startsWith(`${NGINX_DIR}/`))
      : undefined;
  return {
    desired,
    hosts,
    healthChecks,
    checks,
    keyNeeds:
      hello.nginxMode === "off"
        ? []
        : keyNeeds(
            inputs.agent,
            config,
            inputs.own,
            inputs.now,
            inputs.issuesFor,
            inputs.renewNow,
          ).filter((need) => !inputs.keyFailures.has(need.certificateId)),
    ...(conf && tokens
      ? { answering: { configSha256: contentSha256(conf.content), tokens: new Set(tokens.keys()) } }
      : {}),
  };
}

function desiredFor(inputs: PlanInputs): DesiredState {
  const { agent, config, hello } = inputs;
  // No nginx on the machine: its files alone. (Its hello carries no status
  // port, which the nginx compiler would refuse.)
  if (hello.nginxMode === "off") return desiredFilesOnly(agent, config.files);
  const unresolvable = new Set(hello.facts.unresolvableNames);
  const runtime = hello.nginxRuntime;
  return desiredStateForAgent(
    {
      agent,
      ...config,
      options: {
        configRoot: hello.fileRoot,
        statusPort: hello.statusPort,
        nginxFeatures: {
          supportsHttp3: hello.nginxSupportsHttp3,
          http2Directive: hello.nginxHttp2Directive,
        },
        certificateMaterial: materialFor(
          config,
          inputs.own,
          inputs.issuesFor,
          inputs.certificateMaterial,
        ),
        resolvable: (name) => !unresolvable.has(name),
        downServers: hello.facts.downServers,
        staticRoots: hello.staticRoots,
        // Open ACME challenges of the workspace: every agent of it answers them.
        acmeChallenges: Object.fromEntries(inputs.challenges ?? []),
        global: { accessLogPath: runtime.accessLogPath ?? null },
        ...(hello.nginxMode === "system" ? { layout: "include" as const } : {}),
        ...(runtime.listenAddress === undefined ? {} : { listenAddress: runtime.listenAddress }),
        runtime: {
          ...(runtime.pidPath === undefined ? {} : { pidPath: runtime.pidPath }),
          ...(runtime.errorLogPath === undefined ? {} : { errorLogPath: runtime.errorLogPath }),
          ...(runtime.tempDir === undefined ? {} : { tempDir: runtime.tempDir }),
          ...(runtime.mimeTypesPath === undefined ? {} : { mimeTypesPath: runtime.mimeTypesPath }),
        },
      },
    },
    inputs.compileMemo,
  );
}

/** Active health checks for the upstreams the agent's config applies with checking enabled. */
function healthChecksFor(config: WorkspaceConfig, desired: DesiredState): ActiveHealthCheck[] {
  const applied = new Set(desired.upstreams.filter((u) => u.status === "applied").map((u) => u.id));
  return config.upstreams
    .filter((u) => applied.has(u.id) && u.healthCheck?.enabled === true)
    .map((u) => ({
      upstreamId: u.id,
      addresses: u.servers.map((server) => server.address),
      path: u.healthCheck?.path ?? "/",
      intervalSeconds: u.healthCheck?.interval ?? 10,
      timeoutSeconds: u.healthCheck?.timeout ?? 5,
      ...(u.healthCheck?.healthyThreshold === undefined
        ? {}
        : { healthyThreshold: u.healthCheck.healthyThreshold }),
      ...(u.healthCheck?.unhealthyThreshold === undefined
        ? {}
        : { unhealthyThreshold: u.healthCheck.unhealthyThreshold }),
    }));
}
