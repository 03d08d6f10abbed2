import type { ServiceImpl } from "@connectrpc/connect";
import {
  type AgentChannels,
  type CallHandlers,
  createCallChannel,
  layerHandlers,
  type ProtocolSide,
  refuseOlderPeer,
} from "../channel/index.ts";
import type { ConfigDelivery } from "../delivery/index.ts";
import { DroverError } from "../errors/index.ts";
import type { Fleet } from "../fleet/index.ts";
import type { AgentService } from "../gen/drover/v1/agent_pb.ts";
import type { SessionRequest, SessionResponse } from "../gen/drover/v1/session_pb.ts";
import type { Timers } from "../time/index.ts";
import {
  agentMessageFromProto,
  healthFromProto,
  serverMessageToProto,
  sessionHelloFromProto,
} from "../wire/index.ts";
import type { BidiHandler } from "./grpc-stream.ts";
import { peerKey } from "./peer.ts";

export interface AgentServiceDeps {
  fleet: Fleet;
  delivery: ConfigDelivery;
  /** Where callers find each connected agent's calls. */
  channels: AgentChannels;
  /** The call kinds the server answers for agents. */
  handlers: CallHandlers;
  /** Kinds bound to one agent (its exporter), layered over `handlers`, with their clean-up. */
  sessionCalls?: (agentId: string) => { handlers: CallHandlers; close(): Promise<void> };
  timers: Timers;
  /** This server's release and the oldest agent protocol it serves. */
  protocol: Omit<ProtocolSide, "side">;
}

/** The connect half of AgentService: Nstance's ReportHealth (Session is agentSession, below). */
export function agentService(
  deps: Pick<AgentServiceDeps, "fleet">,
): Partial<ServiceImpl<typeof AgentService>> {
  const { fleet } = deps;
  return {
    // Nstance's ReportHealth, kept for clients of that seed: a health-only
    // session (presence and heartbeats, no delivery, no calls).
    async reportHealth(requests, context) {
      const peer = context.values.get(peerKey);
      if (!peer) throw new Error("agent service mounted without requireRole");
      const stream = await fleet.openHealthStream(peer.identity.id);
      try {
        for await (const request of requests) await stream.record(healthFromProto(request.report));
      } finally {
        await stream.close();
      }
      return {};
    },
  };
}

/**
 * The agent's one session: presence (open = online), heartbeats, configuration
 * delivery and calls in both directions. Served by bidiStreamRoute, not connect.
 */
export function agentSession(deps: AgentServiceDeps): BidiHandler<SessionRequest, SessionResponse> {
  const { fleet, delivery } = deps;
  return async (call) => {
    const agentId = call.peer?.identity.id;
    if (agentId === undefined) throw new Error("agent session mounted without authorization");
    const first = await call.receive();
    if (first === undefined) return;
    const said = first.payload.case === "hello" ? first.payload.value : undefined;
    // Before anything is recorded: an agent this server no longer serves is told who must upgrade.
    const refused =
      said &&
      refuseOlderPeer(
        { side: "server", ...deps.protocol },
        { version: said.agentVersion, protocol: said.protocol },
      );
    if (refused) throw refused;
    const hello = sessionHelloFromProto(said);
    if (hello.deploymentMode !== undefined) {
      await fleet.recordDeploymentMode(agentId, hello.deploymentMode);
    }
    const presence = await fleet.openHealthStream(agentId);
    const own = deps.sessionCalls?.(agentId);
    const calls = createCallChannel({
      side: "server",
      send: (frame) => call.send(serverMessageToProto({ kind: "call", frame })),
      handlers: own ? layerHandlers(own.handlers, deps.handlers) : deps.handlers,
      timers: deps.timers,
      peer: `agent ${agentId}`,
    });
    const detach = deps.channels.attach(agentId, calls);
    const disconnected = new DroverError("unavailable", `agent ${agentId} disconnected`);
    try {
      const session = await delivery.open(agentId, hello, (message) =>
        call.send(serverMessageToProto(message)),
      );
      try {
        // The agent's messages are handled in order; a malformed one ends the
        // session with its error.
        for (;;) {
          const next = await call.receive();
          if (next === undefined || call.signal.aborted) break;
          const message = agentMessageFromProto(next);
          if (message.kind === "health") await presence.record(message.health);
          else if (message.kind === "call") calls.receive(message.frame);
          else await session.receive(message);
        }
      } finally {
        session.close();
      }
    } finally {
      detach();
      calls.close(disconnected);
      await own?.close();
      await presence.close();
    }
  };
}
