import type { Selector } from "../selector/index.ts";
import type { AgentTelemetryRepository } from "./agent-telemetry.ts";
import type { ExporterRepository } from "./exporters.ts";
import type { LeasePolicyRepository } from "./lease-policies.ts";
import type { LeaseRepository } from "./leases.ts";
import type { RetentionRepository } from "./retention.ts";
import type {
  AgentFileKind,
  AgentState,
  AlertThreshold,
  AlertThresholds,
  ConfigApplyState,
  ConfigApplyStep,
  ConfigFileOutcome,
  ConfigHostOutcome,
  DeploymentMode,
  GlobalSettings,
  HealthSnapshot,
  MembershipRole,
  RewriteFlag,
  RewriteRule,
  Role,
  CustomHeader as StoredHeader,
  HealthCheckSpec as StoredHealthCheck,
  LocationSpec as StoredLocation,
  TargetAgents,
  TlsCertificateStatus,
  TlsProvider,
  UpstreamAlgorithm,
  UpstreamServer,
} from "./schema.ts";

export type {
  AgentFileKind,
  AgentState,
  AlertThreshold,
  AlertThresholds,
  ConfigApplyState,
  ConfigApplyStep,
  ConfigFileOutcome,
  ConfigHostOutcome,
  DeploymentMode,
  GlobalSettings,
  HealthSnapshot,
  MembershipRole,
  RewriteFlag,
  RewriteRule,
  Role,
  TargetAgents,
  TlsCertificateStatus,
  TlsProvider,
  UpstreamAlgorithm,
  UpstreamServer,
};

// The JSON columns' specs with the NxMesh fields added since the schema's
// types were written. Every added field is optional, so rows stored before
// read as they are and the column types stay assignable both ways.

export interface CustomHeader extends StoredHeader {
  /** false: `add_header` without `always` (2xx/3xx only); absent: true. */
  always?: boolean;
}

/** One `location`: exactly one of upstreamId, proxyPass and root. */
export interface LocationSpec extends StoredLocation {
  /** Static files: an absolute directory. */
  root?: string;
  /** With root: index file names separated by single spaces, as nginx's `index` takes them. */
  index?: string;
  customHeaders: CustomHeader[];
  /** Directive name → value, names from lib/nginx's allow-list. */
  customDirectives?: Record<string, string>;
}

export interface HealthCheckSpec extends StoredHealthCheck {
  /** Consecutive successes that bring a down server back; absent: the agent's default (2). */
  healthyThreshold?: number;
  /** Consecutive failures that take a server down; absent: the agent's default (3). */
  unhealthyThreshold?: number;
}

export interface CertificateRow {
  /** Lowercase hex. */
  serial: string;
  subjectId: string;
  role: Role;
  notAfter: Date;
  issuedAt: Date;
  revokedAt: Date | null;
}

export type NewCertificate = Omit<CertificateRow, "revokedAt"> & { revokedAt?: Date | null };

export interface JoinTokenRow {
  nonceId: string;
  role: Role;
  labels: Record<string, string>;
  name: string | null;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  /** Subject id of the identity the token was exchanged for. */
  usedBy: string | null;
  revokedAt: Date | null;
  /** The workspace the admitted agent joins; null: none. */
  workspaceId: string | null;
  /** Whether the labels the agent claims at join become its own (targeting) labels. */
  allowSelfLabels: boolean;
}

export type NewJoinToken = Pick<
  JoinTokenRow,
  "nonceId" | "role" | "labels" | "createdAt" | "expiresAt"
> & {
  name?: string | null;
  workspaceId?: string | null;
  allowSelfLabels?: boolean;
};

export interface AgentRow {
  id: string;
  name: string;
  hostname: string;
  ip: string;
  version: string;
  /** The operator's labels (token, PATCH, or claims a token adopted): what selectors match. */
  labels: Record<string, string>;
  /** The labels the agent claimed when it joined: shown, never matched. */
  claimedLabels: Record<string, string>;
  capabilities: string[];
  /** How the agent runs, as it said at join. */
  deploymentMode: DeploymentMode;
  state: AgentState;
  lastSeenAt: Date | null;
  lastHealth: HealthSnapshot | null;
  createdAt: Date;
  updatedAt: Date;
  /** Null when unassigned, including after its workspace was deleted. */
  workspaceId: string | null;
}

export type NewAgent = Omit<
  AgentRow,
  "lastSeenAt" | "lastHealth" | "workspaceId" | "claimedLabels" | "deploymentMode"
> & {
  /** Default: standalone. */
  deploymentMode?: DeploymentMode;
  /** Default: none. */
  claimedLabels?: Record<string, string>;
  lastSeenAt?: Date | null;
  lastHealth?: HealthSnapshot | null;
  /** not_found if the workspace does not exist. */
  workspaceId?: string | null;
};

/** Fields an operator or a re-registration may change; workspaceId null unassigns. */
export type AgentPatch = Partial<
  Pick<
    AgentRow,
    | "name"
    | "hostname"
    | "ip"
    | "version"
    | "labels"
    | "capabilities"
    | "workspaceId"
    | "deploymentMode"
  >
>;

export interface AgentFilter {
  selector?: Selector;
  state?: AgentState;
  workspaceId?: string;
  /** Agents in any of these workspaces; [] matches none. Unassigned agents never match. */
  workspaceIds?: string[];
}

export interface AgentListOptions extends AgentFilter {
  limit: number;
  /** Keyset cursor: the last id of the previous page. */
  afterId?: string;
  /** Rows to skip, for page/per_page pagination; combines with afterId. */
  offset?: number;
}

export interface HealthUpdate {
  lastSeenAt: Date;
  lastHealth: HealthSnapshot | null;
  state: AgentState;
}

/** One agent's last report, as the heartbeat flush writes it (state is written apart). */
export interface HeartbeatRow {
  id: string;
  lastSeenAt: Date;
  lastHealth: HealthSnapshot;
}

export interface EventRow {
  /** Strictly increasing, never reused: the resume cursor for watchers. */
  seq: number;
  type: string;
  subjectId: string;
  data: unknown;
  at: Date;
}

export type NewEvent = Omit<EventRow, "seq">;

/** Page of a list ordered by creation: `offset` rows skipped, at most `limit` returned. */
export interface PageOptions {
  limit: number;
  offset: number;
}

/** The reads of a repository whose lists are pages in creation order. */
export interface PagedReads<Row, Filter> {
  get(id: string): Promise<Row | null>;
  /** Ordered by creation time, then id. */
  list(options: Filter & PageOptions): Promise<Row[]>;
  count(filter?: Filter): Promise<number>;
}

export interface UserRow {
  id: string;
  /** Lowercase. */
  email: string;
  passwordHash: string;
  /** The password was chosen by someone else (the first admin's): the UI makes the user change it. */
  passwordChangeRequired: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type NewUser = Omit<UserRow, "passwordChangeRequired"> & {
  passwordChangeRequired?: boolean;
};

export interface OrganizationRow {
  id: string;
  name: string;
  slug: string;
  createdAt: Date;
  updatedAt: Date;
}

export type NewOrganization = OrganizationRow;
export type OrganizationPatch = Partial<Pick<OrganizationRow, "name" | "slug">>;

export interface OrganizationFilter {
  /** Only these organizations; undefined: all, []: none. */
  ids?: string[];
}

export interface MembershipRow {
  userId: string;
  /** An organization id, or FLEET_SCOPE. */
  scope: string;
  role: MembershipRole;
  createdAt: Date;
}

/** A membership with the member's email: one row of an organization's member list. */
export interface MemberRow {
  userId: string;
  email: string;
  role: MembershipRole;
  /** When the membership was made. */
  createdAt: Date;
}

export interface WorkspaceRow {
  id: string;
  organizationId: string;
  name: string;
  /** Unique within its organization. */
  slug: string;
  /** NxMesh's GlobalSettings for every agent of the workspace; null or absent: none. */
  globalSettings?: GlobalSettings | null;
  /** Per-metric alert thresholds replacing the defaults; null or absent: the defaults. */
  alertThresholds?: AlertThresholds | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewWorkspace = WorkspaceRow;
/** null clears a setting. */
export type WorkspacePatch = Partial<
  Pick<WorkspaceRow, "name" | "slug" | "globalSettings" | "alertThresholds">
>;

export interface WorkspaceFilter {
  /** Only workspaces of these organizations; undefined: all, []: none. */
  organizationIds?: string[];
  /** Only this organization's workspaces; combines with organizationIds. */
  organizationId?: string;
  /** Only workspaces with this slug (unique per organization, not across them). */
  slug?: string;
}

export interface RefreshTokenRow {
  /** Lowercase SHA-256 hex of the token; the token itself is never stored. */
  id: string;
  /** Every token rotated from one login; reuse of a used one revokes them all. */
  familyId: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
}

export type NewRefreshToken = Omit<RefreshTokenRow, "usedAt" | "revokedAt">;

export interface UserRepository {
  /** already_exists if the id or the (case-folded) email is taken. */
  insert(row: NewUser): Promise<UserRow>;
  get(id: string): Promise<UserRow | null>;
  /** Case-insensitive. */
  getByEmail(email: string): Promise<UserRow | null>;
  /** Ordered by creation time, then id. */
  list(options: PageOptions): Promise<UserRow[]>;
  count(): Promise<number>;
  /** not_found if the user does not exist. */
  updatePassword(id: string, passwordHash: string, at: Date): Promise<UserRow>;
  /** not_found if the user does not exist. */
  setPasswordChangeRequired(id: string, required: boolean, at: Date): Promise<UserRow>;
  /** Also deletes the user's memberships and refresh tokens. */
  delete(id: string): Promise<boolean>;
}

export interface OrganizationRepository extends PagedReads<OrganizationRow, OrganizationFilter> {
  /** already_exists if the id or the slug is taken. */
  insert(row: NewOrganization): Promise<OrganizationRow>;
  getBySlug(slug: string): Promise<OrganizationRow | null>;
  /** not_found if unknown, already_exists if the new slug is taken. */
  update(id: string, patch: OrganizationPatch, at: Date): Promise<OrganizationRow>;
  /** Also deletes its memberships and workspaces (its agents stay, unassigned). */
  delete(id: string): Promise<boolean>;
}

export interface MembershipRepository {
  /**
   * Creates the membership, or changes the role of an existing one (keeping
   * its createdAt). not_found if the user, or the organization named by
   * scope, does not exist.
   */
  upsert(row: MembershipRow): Promise<MembershipRow>;
  /** Ordered by scope ("*" sorts before alphanumeric organization ids). */
  listForUser(userId: string): Promise<MembershipRow[]>;
  get(userId: string, scope: string): Promise<MembershipRow | null>;
  /** A page of the scope's members with their emails, in the order they became members. */
  listMembers(scope: string, options: PageOptions): Promise<MemberRow[]>;
  /** How many members the scope has; with `role`, only those holding it. */
  countMembers(scope: string, role?: MembershipRole): Promise<number>;
  /** Every membership of these users (one page of them), ordered by user, then scope. */
  listForUsers(userIds: readonly string[]): Promise<MembershipRow[]>;
  delete(userId: string, scope: string): Promise<boolean>;
}

export interface WorkspaceRepository extends PagedReads<WorkspaceRow, WorkspaceFilter> {
  /** not_found if the organization does not exist; already_exists if the id or slug is taken there. */
  insert(row: NewWorkspace): Promise<WorkspaceRow>;
  /** not_found if unknown, already_exists if the new slug is taken in its organization. */
  update(id: string, patch: WorkspacePatch, at: Date): Promise<WorkspaceRow>;
  /** Its agents stay, unassigned. */
  delete(id: string): Promise<boolean>;
}

export interface RefreshTokenRepository {
  /** not_found if the user does not exist; already_exists if the id is taken. */
  insert(row: NewRefreshToken): Promise<RefreshTokenRow>;
  get(id: string): Promise<RefreshTokenRow | null>;
  /**
   * Marks the token used if it is unused, unrevoked and unexpired at `at`,
   * atomically: of two racing callers exactly one gets the row. Null otherwise
   * (get() tells why, e.g. to revoke the family on reuse).
   */
  use(id: string, at: Date): Promise<RefreshTokenRow | null>;
  /** Revokes every unrevoked token of the family; returns how many. */
  revokeFamily(familyId: string, at: Date): Promise<number>;
  /** Revokes every unrevoked token of the user (a password reset); returns how many. */
  revokeForUser(userId: string, at: Date): Promise<number>;
}

export interface CertificateRepository {
  insert(row: NewCertificate): Promise<CertificateRow>;
  get(serial: string): Promise<CertificateRow | null>;
  /** Revokes one certificate; false if unknown or already revoked. */
  revoke(serial: string, at: Date): Promise<boolean>;
  /** Revokes every unrevoked certificate of a subject; returns how many. */
  revokeBySubject(subjectId: string, at: Date): Promise<number>;
  /** False for unknown serials: only the issuer's own records can be revoked. */
  isRevoked(serial: string): Promise<boolean>;
  /** Revoked serials; with `now`, only those not yet expired (the rest fail anyway). */
  listRevokedSerials(now?: Date): Promise<string[]>;
  /**
   * For each of these subjects of `role` holding a certificate that is
   * neither revoked nor expired at `now`: the latest such certificate's
   * notAfter. Subjects without one are absent.
   */
  validUntil(role: Role, subjectIds: readonly string[], now: Date): Promise<Map<string, Date>>;
}

export interface JoinTokenRepository {
  insert(row: NewJoinToken): Promise<JoinTokenRow>;
  get(nonceId: string): Promise<JoinTokenRow | null>;
  /** Ordered by nonce id; pass the last one as afterNonceId for the next page. */
  list(options: { limit: number; afterNonceId?: string }): Promise<JoinTokenRow[]>;
  /** not_found if unknown, failed_precondition if already used; idempotent otherwise. */
  revoke(nonceId: string, at: Date): Promise<JoinTokenRow>;
  /** Single use: marks the token used by subjectId or throws unauthenticated saying why not. */
  consume(nonceId: string, subjectId: string, now: Date): Promise<JoinTokenRow>;
}

export interface AgentRepository {
  insert(row: NewAgent): Promise<AgentRow>;
  get(id: string): Promise<AgentRow | null>;
  /** Ordered by id; pass the last id as afterId for the next page. */
  list(options: AgentListOptions): Promise<AgentRow[]>;
  count(filter?: AgentFilter): Promise<number>;
  /** not_found if the agent does not exist. */
  update(id: string, patch: AgentPatch, at: Date): Promise<AgentRow>;
  /** not_found if the agent does not exist. */
  updateHealth(id: string, health: HealthUpdate): Promise<AgentRow>;
  /** Last seen and last health of many agents in one statement; returns how many rows it wrote. */
  writeHeartbeats(rows: readonly HeartbeatRow[]): Promise<number>;
  /** not_found if the agent does not exist. */
  setState(id: string, state: AgentState, at: Date): Promise<AgentRow>;
  /** Online and seen now: what a freshly opened stream proves. */
  markOnline(id: string, at: Date): Promise<AgentRow>;
  /**
   * Flips agents not seen since olderThan (never seen: created before it) to
   * offline; returns their ids, sorted.
   */
  markStaleOffline(olderThan: Date, at: Date): Promise<string[]>;
  delete(id: string): Promise<boolean>;
}

export interface EventRepository {
  append(event: NewEvent): Promise<EventRow>;
  /** Events with seq > afterSeq, oldest first. */
  listSince(afterSeq: number, limit: number): Promise<EventRow[]>;
  /** Events with seq < beforeSeq (all without it), newest first. */
  listBefore(beforeSeq: number | undefined, limit: number): Promise<EventRow[]>;
  /** 0 when there are no events. */
  latestSeq(): Promise<number>;
}

/** Configuration objects belong to one workspace. */
export interface WorkspaceScopeFilter {
  /** Only this workspace's objects; undefined: all. */
  workspaceId?: string;
}

export interface TlsCertificateRow {
  id: string;
  workspaceId: string;
  /** Lowercase; "*.example.com" for a wildcard. */
  domain: string;
  isWildcard: boolean;
  provider: TlsProvider;
  status: TlsCertificateStatus;
  /** Why the last issuance failed (status failed); null otherwise. */
  statusMessage: string | null;
  issuedAt: Date | null;
  expiresAt: Date | null;
  autoRenew: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type NewTlsCertificate = Omit<
  TlsCertificateRow,
  "issuedAt" | "expiresAt" | "statusMessage"
> & {
  issuedAt?: Date | null;
  expiresAt?: Date | null;
};

export interface UpstreamRow {
  id: string;
  workspaceId: string;
  /** Unique within its workspace. */
  name: string;
  algorithm: UpstreamAlgorithm;
  /** Set exactly when algorithm is "hash". */
  hashKey: string | null;
  servers: UpstreamServer[];
  keepalive: number | null;
  healthCheck: HealthCheckSpec | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewUpstream = UpstreamRow;
export type UpstreamPatch = Partial<
  Pick<UpstreamRow, "name" | "algorithm" | "hashKey" | "servers" | "keepalive" | "healthCheck">
>;

export interface VirtualHostRow {
  id: string;
  workspaceId: string;
  /** Unique within its workspace. */
  name: string;
  /** Space-separated host names. */
  serverName: string;
  listenPort: number;
  sslEnabled: boolean;
  sslCertificateId: string | null;
  http2Enabled: boolean;
  http3Enabled: boolean;
  /** Server-level directives (allow-listed names); null or absent: none. */
  customDirectives?: Record<string, string> | null;
  locations: LocationSpec[];
  targetAgents: TargetAgents;
  createdAt: Date;
  updatedAt: Date;
}

export type NewVirtualHost = VirtualHostRow;
export type VirtualHostPatch = Partial<
  Pick<
    VirtualHostRow,
    | "name"
    | "serverName"
    | "listenPort"
    | "sslEnabled"
    | "sslCertificateId"
    | "http2Enabled"
    | "http3Enabled"
    | "customDirectives"
    | "locations"
    | "targetAgents"
  >
>;

export interface AgentFileRow {
  id: string;
  workspaceId: string;
  /** Unique within its workspace. */
  name: string;
  /** Relative POSIX path under the agent's file root; unique within its workspace. */
  path: string;
  /** Permission bits, 0o400–0o777. */
  mode: number;
  kind: AgentFileKind;
  /** The file's text; for env_template, the template (rendered per agent on delivery). */
  content: string;
  targetAgents: TargetAgents;
  createdAt: Date;
  updatedAt: Date;
}

export type NewAgentFile = AgentFileRow;
/** The kind is not patchable: a secret stays a secret. */
export type AgentFilePatch = Partial<
  Pick<AgentFileRow, "name" | "path" | "mode" | "content" | "targetAgents">
>;

export interface AgentFileFilter extends WorkspaceScopeFilter {
  /** Only files of this kind. */
  kind?: AgentFileKind;
}

export interface AccessLogRow {
  id: string;
  agentId: string;
  workspaceId: string;
  timestamp: Date;
  remoteAddr: string;
  method: string;
  uri: string;
  protocol: string;
  host: string;
  status: number;
  bodyBytesSent: number;
  /** nginx's $request_length (request line, headers and body); 0 where it was not logged. */
  requestBytes: number;
  responseTimeMs: number;
  userAgent: string | null;
  referer: string | null;
  requestId: string | null;
}

export type NewAccessLog = Omit<
  AccessLogRow,
  "requestBytes" | "userAgent" | "referer" | "requestId"
> & {
  /** Default 0. */
  requestBytes?: number;
  userAgent?: string | null;
  referer?: string | null;
  requestId?: string | null;
};

export interface AccessLogFilter {
  workspaceId?: string;
  agentId?: string;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
  /** Only this HTTP status. */
  status?: number;
  /** Only requests for this host (nginx's $host: lowercase, no port). */
  host?: string;
}

/** Aggregates over the access logs a filter matches. */
export interface AccessLogStats {
  total: number;
  /** Requests by status class; 1xx only count in total. */
  status2xx: number;
  status3xx: number;
  status4xx: number;
  status5xx: number;
  /** Sum of body_bytes_sent. */
  bodyBytesSent: number;
  /** Sum of request_bytes. */
  requestBytes: number;
}

export interface TlsCertificateRepository
  extends PagedReads<TlsCertificateRow, WorkspaceScopeFilter> {
  /** not_found if the workspace does not exist; already_exists if the id or the domain is taken there. */
  insert(row: NewTlsCertificate): Promise<TlsCertificateRow>;
  /** A certificate was issued for the record: active, with its validity. not_found if unknown. */
  markIssued(
    id: string,
    issued: { issuedAt: Date; expiresAt: Date; at: Date },
  ): Promise<TlsCertificateRow>;
  /** Issuance failed: status failed, with why. not_found if unknown. */
  markFailed(id: string, failure: { message: string; at: Date }): Promise<TlsCertificateRow>;
  /** failed_precondition, naming it, while a virtual host uses the certificate. */
  delete(id: string): Promise<boolean>;
}

export interface UpstreamRepository extends PagedReads<UpstreamRow, WorkspaceScopeFilter> {
  /** not_found if the workspace does not exist; already_exists if the id or the name is taken there. */
  insert(row: NewUpstream): Promise<UpstreamRow>;
  /** not_found if unknown, already_exists if the new name is taken in its workspace. */
  update(id: string, patch: UpstreamPatch, at: Date): Promise<UpstreamRow>;
  /** failed_precondition, naming it, while a virtual host's location uses the upstream. */
  delete(id: string): Promise<boolean>;
}

export interface VirtualHostRepository extends PagedReads<VirtualHostRow, WorkspaceScopeFilter> {
  /**
   * not_found if the workspace (or ssl certificate) does not exist;
   * already_exists if the id or the name is taken in the workspace. That
   * referenced upstreams and certificates belong to the same workspace is
   * the caller's check.
   */
  insert(row: NewVirtualHost): Promise<VirtualHostRow>;
  /** not_found if unknown, already_exists if the new name is taken in its workspace. */
  update(id: string, patch: VirtualHostPatch, at: Date): Promise<VirtualHostRow>;
  delete(id: string): Promise<boolean>;
  /** Virtual hosts with a location proxying to the upstream, ordered by creation time. */
  listUsingUpstream(upstreamId: string): Promise<VirtualHostRow[]>;
  /** Virtual hosts serving the certificate, ordered by creation time. */
  listUsingCertificate(certificateId: string): Promise<VirtualHostRow[]>;
}

export interface AgentFileRepository extends PagedReads<AgentFileRow, AgentFileFilter> {
  /** not_found if the workspace does not exist; already_exists if the id, the name or the path is taken there. */
  insert(row: NewAgentFile): Promise<AgentFileRow>;
  /** not_found if unknown, already_exists if the new name or path is taken in its workspace. */
  update(id: string, patch: AgentFilePatch, at: Date): Promise<AgentFileRow>;
  delete(id: string): Promise<boolean>;
  /** The workspace's file with this name, or null. */
  getByName(workspaceId: string, name: string): Promise<AgentFileRow | null>;
  /**
   * The oldest other file of the workspace whose path is a directory of this
   * one, or has this one as a directory (`a` and `a/b` cannot both be files).
   */
  pathConflict(workspaceId: string, path: string, exceptId?: string): Promise<AgentFileRow | null>;
}

export interface AccessLogRepository {
  /**
   * Inserts the batch atomically; returns how many rows. not_found if a
   * workspace does not exist, already_exists if an id is taken.
   */
  insertMany(rows: readonly NewAccessLog[]): Promise<number>;
  /** Newest first (timestamp, then id, descending). */
  list(options: AccessLogFilter & { limit: number; offset?: number }): Promise<AccessLogRow[]>;
  count(filter?: AccessLogFilter): Promise<number>;
  stats(filter?: AccessLogFilter): Promise<AccessLogStats>;
  /**
   * stats per bucket of `bucketMs` from `from` (bucket n holds [from + n·bucketMs,
   * from + (n+1)·bucketMs)), in one GROUP BY; buckets without rows are left out.
   */
  series(
    filter: AccessLogFilter & { from: Date; to: Date },
    bucketMs: number,
  ): Promise<AccessLogBucket[]>;
}

export interface AccessLogBucket extends AccessLogStats {
  /** The bucket's index from the window's start. */
  bucket: number;
}

export interface ConfigStatusRow {
  agentId: string;
  desiredVersion: string;
  /** The config version (NxMesh): one more each time desiredVersion changed; 0 before any. */
  desiredRevision: number;
  version: string;
  /** The config version of `version`. */
  revision: number;
  state: ConfigApplyState;
  appliedVersion: string | null;
  appliedRevision: number | null;
  appliedAt: Date | null;
  durationMs: number | null;
  errors: string[];
  steps: ConfigApplyStep[];
  hosts: ConfigHostOutcome[];
  /** Agent files targeted at the agent but set aside, with the reason. */
  files: ConfigFileOutcome[];
  updatedAt: Date;
}

/** A delivery's outcome as the agent reports it. */
/** What a report leaves on record that its events name. */
export type ReportedStatus = Pick<ConfigStatusRow, "agentId" | "version" | "revision" | "state">;

export interface ConfigReport {
  version: string;
  state: ConfigApplyState;
  errors: string[];
  steps: ConfigApplyStep[];
  durationMs: number | null;
  at: Date;
}

/** The desired version of an agent and what became of its hosts and files. */
export interface DesiredEntry {
  version: string;
  hosts: ConfigHostOutcome[];
  files?: ConfigFileOutcome[];
}

export interface ConfigStatusRepository {
  get(agentId: string): Promise<ConfigStatusRow | null>;
  /** The rows of these agents (any order); agents without one are left out. */
  getMany(agentIds: readonly string[]): Promise<ConfigStatusRow[]>;
  /**
   * Records the version the server now wants the agent to hold and what
   * became of its hosts and set-aside files (default none). A new desired
   * version starts out pending; the same one keeps its state. not_found if
   * the agent does not exist.
   */
  setDesired(agentId: string, desired: DesiredEntry & { at: Date }): Promise<ConfigStatusRow>;
  /** setDesired for many agents in one statement per 90; rows in no particular order. */
  setDesiredMany(
    entries: ReadonlyArray<DesiredEntry & { agentId: string }>,
    at: Date,
  ): Promise<ConfigStatusRow[]>;
  /** Records the agent's report on a delivery; success also moves appliedVersion. */
  report(agentId: string, report: ConfigReport): Promise<ConfigStatusRow>;
  /**
   * report for many agents, one statement per 500 (an agent named twice
   * starts another, so its reports apply in order): each entry's row, in
   * order, undefined where the agent has no status row. Throws, writing
   * nothing, when any report is invalid.
   */
  reportMany(
    entries: ReadonlyArray<{ agentId: string; report: ConfigReport }>,
  ): Promise<(ReportedStatus | undefined)[]>;
  /** How far the workspace's agents are with their desired configuration, in one aggregate query. */
  rollout(workspaceId: string): Promise<RolloutCounts>;
}

/**
 * A workspace's agents by where their configuration stands; each agent counts
 * once: applied wins, then failed, the rest (no status yet included) pend.
 */
export interface RolloutCounts {
  agents: number;
  /** The applied version is the desired one. */
  applied: number;
  /** Not applied, and the latest delivery failed or was rolled back. */
  failed: number;
  /** Neither: on its way, or the agent never had a session. */
  pending: number;
  /** (agent, virtual host) pairs left out of agents' desired configuration. */
  setAsideHosts: number;
}

export interface AgentTlsCertificateRow {
  agentId: string;
  certificateId: string;
  keyPath: string;
  certificatePem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface AgentTlsCertificateRepository {
  listForAgent(agentId: string): Promise<AgentTlsCertificateRow[]>;
  /** Inserts or replaces the agent's certificate for the record; not_found if either is unknown. */
  put(row: AgentTlsCertificateRow): Promise<AgentTlsCertificateRow>;
}

export interface Repositories {
  certificates: CertificateRepository;
  joinTokens: JoinTokenRepository;
  agents: AgentRepository;
  events: EventRepository;
  users: UserRepository;
  organizations: OrganizationRepository;
  memberships: MembershipRepository;
  workspaces: WorkspaceRepository;
  refreshTokens: RefreshTokenRepository;
  tlsCertificates: TlsCertificateRepository;
  upstreams: UpstreamRepository;
  virtualHosts: VirtualHostRepository;
  accessLogs: AccessLogRepository;
  configStatus: ConfigStatusRepository;
  agentTlsCertificates: AgentTlsCertificateRepository;
  agentFiles: AgentFileRepository;
  agentTelemetry: AgentTelemetryRepository;
  retention: RetentionRepository;
  exporters: ExporterRepository;
  leases: LeaseRepository;
  leasePolicies: LeasePolicyRepository;
}

export interface Store extends Repositories {
  /**
   * Runs fn in one write transaction (BEGIN IMMEDIATE); rolls back and
   * rethrows if fn throws. Use only `tx` inside fn: the store itself is
   * locked until fn settles. afterCommit runs once COMMIT succeeded, before
   * any other use of the store (it must not throw): an outbox's listeners
   * hear of committed writes in commit order.
   */
  transaction<T>(fn: (tx: Repositories) => Promise<T>, afterCommit?: () => void): Promise<T>;
  close(): Promise<void>;
  readonly driver: "bun-sqlite" | "libsql";
}

export interface StoreOptions {
  /** A file path, or ":memory:". */
  path: string;
}
