import type { ServiceImpl } from "@connectrpc/connect";
import type { ConfigDelivery } from "../delivery/index.ts";
import type { Fleet } from "../fleet/index.ts";
import type { AgentService } from "../gen/drover/v1/agent_pb.ts";
import type { SessionResponse } from "../gen/drover/v1/session_pb.ts";
import { createChannel } from "../tasks/index.ts";
import {
  agentMessageFromProto,
  healthFromProto,
  serverMessageToProto,
  sessionHelloFromProto,
} from "../wire/index.ts";
import { peerKey } from "./peer.ts";

export function agentService(
  fleet: Fleet,
  delivery: ConfigDelivery,
): ServiceImpl<typeof AgentService> {
  return {
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
      const outgoing = createChannel<SessionResponse>(context.signal);
      const session = await delivery.open(agentId, hello, (message) =>
        outgoing.push(serverMessageToProto(message)),
      );
      // The agent's messages are handled in order while responses stream out;
      // a malformed one ends the session with its error.
      const reading = (async () => {
        for (;;) {
          const next = await incoming.next();
          if (next.done) break;
          await session.receive(agentMessageFromProto(next.value));
        }
      })().then(
        () => outgoing.close(),
        (error: unknown) => outgoing.close(error),
      );
      try {
        yield* outgoing;
      } finally {
        session.close();
        await reading;
      }
    },
  };
}
