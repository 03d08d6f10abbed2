import type { Identity, IssuedCertificate } from "../pki/index.ts";
import type { AgentRow, DeploymentMode } from "../store/index.ts";
import type { Task } from "../tasks/index.ts";
import type { Timers } from "../time/index.ts";
import {
  type AgentPage,
  deleteAgent,
  getAgent,
  type ListAgentsInput,
  listAgents,
  markAllAgentsOffline,
} from "./agents.ts";
import { recordDeploymentMode } from "./deployment-mode.ts";
import type { FleetDeps } from "./deps.ts";
import { createHealthStreams, type HealthStream } from "./health-stream.ts";
import {
  type CreatedJoinToken,
  type CreateJoinTokenInput,
  createJoinToken,
  revokeJoinToken,
} from "./join-tokens.ts";
import type { OpenAlert } from "./open-alerts.ts";
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
  /** What the agent's session hello says it runs in, when that changed since the record. */
  recordDeploymentMode(id: string, mode: DeploymentMode): Promise<void>;
  /** Marks the agent online and returns the stream its health reports go through. */
  openHealthStream(id: string): Promise<HealthStream>;
  /** Every alert firing now, fleet-wide, newest first (kept in memory by the health streams). */
  openAlerts(): OpenAlert[];
  markSilentAgentsOffline(): Promise<void>;
  /** Writes every health report not yet written (one statement); resolves with how many. */
  flushHeartbeats(): Promise<number>;
  /** The flush loop, every `settings.heartbeatFlushIntervalMs` on the given timers. */
  heartbeatFlushTask(timers: Timers, onError: (error: unknown) => void): Task;
  /**
   * The row with its agent's last report overlaid when that is newer than the
   * stored one (not yet flushed): what getAgent and listAgents return.
   */
  withLiveHealth(row: AgentRow): AgentRow;
  /** At start: agents a server that died left connected are `server_shutdown`. */
  markAllAgentsOffline(): Promise<void>;
  /** At stop, while the listeners are still open: every connected agent is `server_shutdown`. */
  stopHealthIntake(): Promise<void>;
}

export function createFleet(deps: FleetDeps): Fleet {
  const healthStreams = createHealthStreams(deps);
  return {
    deps,
    createJoinToken: (input) => createJoinToken(deps, input),
    revokeJoinToken: (nonceId) => revokeJoinToken(deps, nonceId),
    register: (input) => register(deps, input),
    renew: (identity, csr) => renew(deps, identity, csr),
    listAgents: async (input) => {
      const page = await listAgents(deps, input);
      return { ...page, agents: page.agents.map(healthStreams.withLiveHealth) };
    },
    getAgent: async (id) => healthStreams.withLiveHealth(await getAgent(deps, id)),
    deleteAgent: (id) => deleteAgent(deps, id),
    recordDeploymentMode: (id, mode) => recordDeploymentMode(deps, id, mode),
    openHealthStream: healthStreams.open,
    openAlerts: healthStreams.openAlerts,
    markSilentAgentsOffline: healthStreams.sweep,
    flushHeartbeats: healthStreams.flush,
    heartbeatFlushTask: (timers, onError) =>
      healthStreams.flushTask(deps.settings.heartbeatFlushIntervalMs ?? 1000, timers, onError),
    withLiveHealth: healthStreams.withLiveHealth,
    markAllAgentsOffline: async () => {
      await markAllAgentsOffline(deps);
    },
    stopHealthIntake: () => healthStreams.stop(),
  };
}
