import type { Selector } from "../selector/index.ts";
import type { AgentState, HealthSnapshot, Role } from "./schema.ts";

export type { AgentState, HealthSnapshot, Role };

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
}

export type NewJoinToken = Pick<
  JoinTokenRow,
  "nonceId" | "role" | "labels" | "createdAt" | "expiresAt"
> & {
  name?: string | null;
};

export interface AgentRow {
  id: string;
  name: string;
  hostname: string;
  ip: string;
  version: string;
  labels: Record<string, string>;
  capabilities: string[];
  state: AgentState;
  lastSeenAt: Date | null;
  lastHealth: HealthSnapshot | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewAgent = Omit<AgentRow, "lastSeenAt" | "lastHealth"> & {
  lastSeenAt?: Date | null;
  lastHealth?: HealthSnapshot | null;
};

/** Fields an operator or a re-registration may change. */
export type AgentPatch = Partial<
  Pick<AgentRow, "name" | "hostname" | "ip" | "version" | "labels" | "capabilities">
>;

export interface AgentFilter {
  selector?: Selector;
  state?: AgentState;
}

export interface AgentListOptions extends AgentFilter {
  limit: number;
  /** Keyset cursor: the last id of the previous page. */
  afterId?: string;
}

export interface HealthUpdate {
  lastSeenAt: Date;
  lastHealth: HealthSnapshot | null;
  state: AgentState;
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
  /** 0 when there are no events. */
  latestSeq(): Promise<number>;
}

export interface Repositories {
  certificates: CertificateRepository;
  joinTokens: JoinTokenRepository;
  agents: AgentRepository;
  events: EventRepository;
}

export interface Store extends Repositories {
  /**
   * Runs fn in one write transaction (BEGIN IMMEDIATE); rolls back and
   * rethrows if fn throws. Use only `tx` inside fn: the store itself is
   * locked until fn settles.
   */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly driver: "bun-sqlite" | "libsql";
}

export interface StoreOptions {
  /** A file path, or ":memory:". */
  path: string;
}
