import type { CallFrame } from "../channel/index.ts";
import type { FileSetDiff, Manifest } from "../drift/index.ts";
import type { AgentHealth, NginxHealth } from "../fleet/index.ts";
import type {
  AccessLogRow,
  ConfigApplyState,
  ConfigApplyStep,
  DeploymentMode,
} from "../store/index.ts";
import type { TelemetryMessage } from "./telemetry.ts";

/**
 * The session's messages as plain data (lib/wire converts them to and from
 * the protobuf of drover/v1/session.proto). Both ends use these types.
 */

export type NginxMode = "managed" | "system" | "off";

export interface NginxRuntimeInfo {
  pidPath?: string;
  errorLogPath?: string;
  tempDir?: string;
  mimeTypesPath?: string;
  /** The JSON access log the agent tails; absent: nginx logs no access. */
  accessLogPath?: string;
  /** The IP address virtual hosts listen on; absent: every address. */
  listenAddress?: string;
}

export interface AgentFacts {
  /** DNS names, of those the agent was asked to check, that do not resolve on its machine. */
  unresolvableNames: string[];
  /** Upstream id → addresses its active health checker finds down. */
  downServers: Record<string, string[]>;
}

export interface SessionHello {
  /** Absolute path the delivered files are written under. */
  fileRoot: string;
  nginxMode: NginxMode;
  statusPort: number;
  nginxRuntime: NginxRuntimeInfo;
  nginxSupportsHttp3: boolean;
  nginxHttp2Directive: boolean;
  /** What it holds now: the files delivered earlier, as they are on disk. */
  manifest: Manifest;
  facts: AgentFacts;
  /**
   * Absolute, symlink-free directories nginx may serve static files from
   * (`drover agent --static-root`): a location's root must lie inside one.
   */
  staticRoots: string[];
  /** How the agent runs now; absent (an older agent): what registration said stands. */
  deploymentMode?: DeploymentMode;
}

export interface ActiveHealthCheck {
  upstreamId: string;
  addresses: string[];
  path: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  /** Unset: the agent's checker defaults (2 and 3). */
  healthyThreshold?: number;
  unhealthyThreshold?: number;
}

/** The difference between what the agent holds and the desired state whose hash is `version`. */
export interface FileDelivery extends FileSetDiff {
  version: string;
  checkNames: string[];
  healthChecks: ActiveHealthCheck[];
}

export interface ConfigStatusReport {
  version: string;
  state: ConfigApplyState;
  steps: ConfigApplyStep[];
  errors: string[];
  refused: Array<{ path: string; reason: string }>;
  durationMs: number;
  /** On a final state: what it holds now. */
  manifest: Manifest;
}

export type CommandKind = "reload" | "restart" | "stop" | "get_status" | "validate_config";

/** Sent as the call kind nginx.command (lib/channel). */
export interface NginxCommand {
  kind: CommandKind;
  /** validate_config: the configuration text to test. */
  configText?: string;
  /** stop and restart: seconds in-flight requests get; absent: the agent's default. */
  timeoutSeconds?: number;
}

export interface CommandOutcome {
  ok: boolean;
  errors: string[];
  status?: NginxHealth;
}

/** One request as nginx logged it: an access-log row without what the server adds. */
export type AccessLogEntryInfo = Omit<AccessLogRow, "id" | "agentId" | "workspaceId">;

/**
 * Nstance's KeyGenRequests: the agent generates a key pair, keeps the
 * private key at keyPath (under its file root) and submits a CSR.
 */
export interface KeyGenRequest {
  id: string;
  /** What the key is for, e.g. "tls_certificate". */
  purpose: string;
  keyPath: string;
  dnsNames: string[];
}

/** What an agent sends after its hello. */
export type AgentMessage =
  | { kind: "status"; status: ConfigStatusReport }
  | { kind: "drift"; manifest: Manifest; drifted: string[] }
  | { kind: "facts"; facts: AgentFacts }
  | { kind: "access_logs"; entries: AccessLogEntryInfo[]; skipped: number }
  /** SubmitPublicKeys: a CSR for the key a KeyGenRequest asked for. */
  | { kind: "public_key"; requestId: string; csrDer: Uint8Array }
  /** What the agent pushes about itself: metrics, its own log lines, events. */
  | TelemetryMessage
  /** A heartbeat: the session is the agent's presence, this its latest figures. */
  | { kind: "health"; health: AgentHealth }
  /** A frame of a call in either direction (lib/channel). */
  | { kind: "call"; frame: CallFrame };

/** What the server sends. */
export type ServerMessage =
  | { kind: "files"; delivery: FileDelivery }
  | { kind: "key_gen"; request: KeyGenRequest }
  | { kind: "call"; frame: CallFrame };
