import type { Manifest } from "../drift/index.ts";
import type { AgentTlsCertificateRow } from "../store/index.ts";
import type { KeyNeed } from "./keys.ts";
import type { DeliverySlot } from "./scheduler.ts";
import type { ServerMessage, SessionHello } from "./types.ts";

/** One connected agent's session, as every part of delivery sees it. */
export interface OpenSession extends DeliverySlot {
  agentId: string;
  workspaceId: string | null;
  hello: SessionHello;
  send: (message: ServerMessage) => void;
  /** What the agent holds, from its hello, drift reports and final statuses. */
  manifest: Manifest;
  /** The checks of the last delivery, so a change to them alone is sent too. */
  sentChecks?: string;
  /** The last version the agent failed to apply: not sent again unless it asks. */
  failedVersion?: string;
  /** Internal certificates issued to this agent, by certificate record id. */
  own: Map<string, AgentTlsCertificateRow>;
  /** Open KeyGenRequests by request id. */
  keyRequests: Map<string, KeyNeed & { keyPath: string; issuing?: boolean }>;
  /** Records whose last issuance failed: no new key is asked for until the next refresh. */
  keyFailures: Set<string>;
  /** Records to renew now, whatever their lifetime (an operator asked). */
  renewNow: Set<string>;
  /** sha256 of an nginx config sent to it → the ACME tokens that config answers. */
  answering: Map<string, Set<string>>;
}

/** The open sessions by agent id: one per agent, a reconnect replaces the previous one. */
export interface SessionRegistry {
  /** Registers the session, replacing its agent's previous one. */
  add(session: OpenSession): void;
  /** Removes the session unless another has replaced it; whether it was the current one. */
  remove(session: OpenSession): boolean;
  /** Whether the session is still its agent's current one (not replaced, not closed). */
  isCurrent(session: OpenSession): boolean;
  get(agentId: string): OpenSession | undefined;
  has(agentId: string): boolean;
  all(): IterableIterator<OpenSession>;
  /** The sessions of agents in the workspace (as last computed). */
  inWorkspace(workspaceId: string): OpenSession[];
  clear(): void;
}

export function createSessionRegistry(): SessionRegistry {
  const sessions = new Map<string, OpenSession>();
  return {
    add(session) {
      sessions.set(session.agentId, session);
    },
    remove(session) {
      if (sessions.get(session.agentId) !== session) return false;
      sessions.delete(session.agentId);
      return true;
    },
    isCurrent: (session) => sessions.get(session.agentId) === session,
    get: (agentId) => sessions.get(agentId),
    has: (agentId) => sessions.has(agentId),
    all: () => sessions.values(),
    inWorkspace: (workspaceId) =>
      [...sessions.values()].filter((session) => session.workspaceId === workspaceId),
    clear: () => sessions.clear(),
  };
}
