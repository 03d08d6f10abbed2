import type { Identity, IssuedCertificate } from "../pki/index.ts";
import type { AgentRow } from "../store/index.ts";
import {
  type AgentPage,
  deleteAgent,
  getAgent,
  type ListAgentsInput,
  listAgents,
  markAgentConnected,
  markAgentDisconnected,
  markSilentAgentsOffline,
  recordHealth,
} from "./agents.ts";
import type { FleetDeps } from "./deps.ts";
import type { AgentHealth } from "./health.ts";
import {
  type CreatedJoinToken,
  type CreateJoinTokenInput,
  createJoinToken,
  revokeJoinToken,
} from "./join-tokens.ts";
import { type RegisterInput, type Registration, register, renew } from "./registration.ts";

/**
 * The service layer: every way into Drover (gRPC, REST, CLI, library) calls
 * these operations, so the edges can never disagree about what they mean.
 */
export interface Fleet {
  readonly deps: FleetDeps;
  createJoinToken(input: CreateJoinTokenInput): Promise<CreatedJoinToken>;
  revokeJoinToken(nonceId: string): Promise<void>;
  register(input: RegisterInput): Promise<Registration>;
  renew(identity: Identity, csr: Uint8Array): Promise<IssuedCertificate>;
  listAgents(input: ListAgentsInput): Promise<AgentPage>;
  getAgent(id: string): Promise<AgentRow>;
  deleteAgent(id: string): Promise<void>;
  /** Marks the agent online; the returned function marks it offline once its last stream closes. */
  openHealthStream(id: string): Promise<() => Promise<void>>;
  recordHealth(id: string, health: AgentHealth): Promise<void>;
  markSilentAgentsOffline(): Promise<void>;
}

export function createFleet(deps: FleetDeps): Fleet {
  // An agent that reconnects may open its new stream before the old one is
  // seen to close; only the last one closing makes it offline.
  const openStreams = new Map<string, number>();
  return {
    deps,
    createJoinToken: (input) => createJoinToken(deps, input),
    revokeJoinToken: (nonceId) => revokeJoinToken(deps, nonceId),
    register: (input) => register(deps, input),
    renew: (identity, csr) => renew(deps, identity, csr),
    listAgents: (input) => listAgents(deps, input),
    getAgent: (id) => getAgent(deps, id),
    deleteAgent: (id) => deleteAgent(deps, id),
    async openHealthStream(id) {
      await getAgent(deps, id);
      const count = (openStreams.get(id) ?? 0) + 1;
      openStreams.set(id, count);
      if (count === 1) await markAgentConnected(deps, id);
      let closed = false;
      return async () => {
        if (closed) return;
        closed = true;
        const left = (openStreams.get(id) ?? 1) - 1;
        if (left > 0) {
          openStreams.set(id, left);
          return;
        }
        openStreams.delete(id);
        if (await deps.store.agents.get(id)) await markAgentDisconnected(deps, id, "stream closed");
      };
    },
    recordHealth: (id, health) => recordHealth(deps, id, health),
    markSilentAgentsOffline: () => markSilentAgentsOffline(deps),
  };
}
