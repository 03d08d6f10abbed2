import type { DesiredFile } from "../drift/index.ts";
import type {
  NginxFeatures,
  NginxGlobalSettings,
  NginxHostOutcome,
  NginxLayout,
  NginxRuntimePaths,
  NginxUpstreamOutcome,
} from "../nginx/index.ts";
import type {
  AgentFileRow,
  AgentRow,
  ConfigFileOutcome,
  GlobalSettings,
  TlsCertificateRow,
  UpstreamRow,
  VirtualHostRow,
} from "../store/index.ts";

/**
 * A TLS certificate for an agent, once there is one: with the key to deliver
 * (keyPem), or issued for a key the agent generated and keeps (agentKeyPath,
 * relative to its file root; the key never travels).
 */
export type CertificateMaterial =
  | {
      /** The certificate chain, leaf first. */
      certificatePem: string;
      keyPem: string;
    }
  | { certificatePem: string; agentKeyPath: string };

/** What the server knows about an agent's machine and how it lays out its files. */
export interface DesiredStateOptions {
  /**
   * Absolute path of the agent's file root on its machine: the desired files
   * are named relative to it, and nginx.conf names the certificate files by
   * their absolute paths under it.
   */
  configRoot: string;
  /** Port of the agent's nginx stub_status listener on 127.0.0.1. */
  statusPort: number;
  /**
   * What the agent's nginx can do (from its `nginx -V`); absent: the most
   * compatible output (no HTTP/3, `listen … http2`).
   */
  nginxFeatures?: Pick<NginxFeatures, "supportsHttp3" | "http2Directive">;
  /**
   * The PEM files of a certificate record, or undefined while the server has
   * none (then the hosts that need it are set aside). Called at most once per
   * certificate id per computation.
   */
  certificateMaterial: (certificateId: string) => CertificateMaterial | undefined;
  /**
   * Whether a DNS name resolves on the agent. The server cannot know, so the
   * default assumes every name does; the agent's `nginx -t` has the last word.
   */
  resolvable?: (host: string) => boolean;
  /** "include" for a system nginx (drover.conf inside its http {}); default "main". */
  layout?: NginxLayout;
  /** The IP address virtual hosts listen on; absent: every address. */
  listenAddress?: string;
  /** Open ACME HTTP-01 challenges (token → key authorization) nginx answers on plain HTTP. */
  acmeChallenges?: Readonly<Record<string, string>>;
  /** Upstream id → addresses the agent's checker found down. */
  downServers?: Readonly<Record<string, readonly string[]>>;
  /** Worker settings, access log path and http-level directives. */
  global?: NginxGlobalSettings;
  /** Paths of the agent's nginx instance (pid, error log, temp dir, mime types, user). */
  runtime?: NginxRuntimePaths;
  /**
   * The directories the agent declares nginx may serve files from; a host
   * with a location root outside them is set aside. Absent: none.
   */
  staticRoots?: readonly string[];
}

export interface DesiredStateInput {
  agent: AgentRow;
  /** Rows of any workspace: only the agent's workspace's are used. */
  virtualHosts: readonly VirtualHostRow[];
  upstreams: readonly UpstreamRow[];
  certificates: readonly TlsCertificateRow[];
  /** Files, secrets and env templates; absent: none. */
  files?: readonly AgentFileRow[];
  /**
   * The workspace's settings: nginx_directives join options.global's
   * directives (the workspace's win on a name both give); env_vars become
   * global.env. Absent: none.
   */
  globalSettings?: GlobalSettings;
  options: DesiredStateOptions;
}

export interface DesiredState {
  /** Sorted by path (the canonical order of the drift hash). */
  files: DesiredFile[];
  /** configHash(files). */
  hash: string;
  /**
   * Every virtual host targeted at this agent, sorted by id: applied, or set
   * aside with the reason. Hosts of other workspaces or whose selector does
   * not match the agent's labels are not listed.
   */
  hosts: NginxHostOutcome[];
  /** Every upstream of the agent's workspace, sorted by id. */
  upstreams: NginxUpstreamOutcome[];
  /** The DNS names the configuration proxies to (the agent checks they resolve), sorted. */
  names: string[];
  /** Agent files targeted at this agent but not given to it, with the reason, in creation order. */
  setAsideFiles: ConfigFileOutcome[];
}
