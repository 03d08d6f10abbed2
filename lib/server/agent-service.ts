import type { ServiceImpl } from "@connectrpc/connect";
import { type AgentChannels, type CallHandlers, createCallChannel } from "../channel/index.ts";
import type { ConfigDelivery } from "../delivery/index.ts";
import { DroverError } from "../errors/index.ts";
import type { Fleet } from "../fleet/index.ts";
import type { AgentService } from "../gen/drover/v1/agent_pb.ts";
import type { SessionResponse } from "../gen/drover/v1/session_pb.ts";
import { createChannel } from "../tasks/index.ts";
import type { Timers } from "../time/index.ts";
import {
  agentMessageFromProto,
  healthFromProto,
  serverMessageToProto,
  sessionHelloFromProto,
} from "../wire/index.ts";
import { peerKey } from "./peer.ts";

export interface AgentServiceDeps {
  fleet: Fleet;
  delivery: ConfigDelivery;
  /** Where callers find each connected agent's calls. */
  channels: AgentChannels;
  /** The call kinds the server answers for agents. */
  handlers: CallHandlers;
  timers: Timers;
}

export function agentService(deps: AgentServiceDeps): ServiceImpl<typeof AgentService> {
  const { fleet, delivery } = deps;
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

    // The agent's one session: presence (open = online), heartbeats,
    // configuration delivery and calls in both directions.
    async *session(requests, context) {
      const peer = context.values.get(peerKey);
      if (!peer) throw new Error("agent service mounted without requireRole");
      const agentId = peer.identity.id;
      const incoming = requests[Symbol.asyncIterator]();
      const first = await incoming.next();
      if (first.done) return;
      const hello = sessionHelloFromProto(
        first.value.payload.case === "hello" ? first.value.payload.value : undefined,
      );
      if (hello.deploymentMode !== undefined) {
        await fleet.recordDeploymentMode(agentId, hello.deploymentMode);
      }
      const presence = await fleet.openHealthStream(agentId);
      const outgoing = createChannel<SessionResponse>(context.signal);
      const calls = createCallChannel({
        side: "server",
        send: (frame) => outgoing.push(serverMessageToProto({ kind: "call", frame })),
        handlers: deps.handlers,
        timers: deps.timers,
        peer: `agent ${agentId}`,
      });
      const detach = deps.channels.attach(agentId, calls);
      const disconnected = new DroverError("unavailable", `agent ${agentId} disconnected`);
      let session: Awaited<ReturnType<ConfigDelivery["open"]>>;
      try {
        session = await delivery.open(agentId, hello, (message) =>
          outgoing.push(serverMessageToProto(message)),
        );
      } catch (error) {
        detach();
        calls.close(disconnected);
        await presence.close();
        throw error;
      }
      // The agent's messages are handled in order while responses stream out;
      // a malformed one ends the session with its error.
      const reading = (async () => {
        for (;;) {
          const next = await incoming.next();
          if (next.done) break;
          const message = agentMessageFromProto(next.value);
          if (message.kind === "health") await presence.record(message.health);
          else if (message.kind === "call") calls.receive(message.frame);
          else await session.receive(message);
        }
      })().then(
        () => outgoing.close(),
        (error: unknown) => outgoing.close(error),
      );
      try {
        yield* outgoing;
      } finally {
        detach();
        calls.close(disconnected);
        session.close();
        await reading;
        await presence.close();
      }
    },
  };
}
