import type { ServiceImpl } from "@connectrpc/connect";
import type { Fleet } from "../fleet/index.ts";
import type { AgentService } from "../gen/drover/v1/agent_pb.ts";
import { healthFromProto } from "../wire/index.ts";
import { peerKey } from "./peer.ts";

export function agentService(fleet: Fleet): ServiceImpl<typeof AgentService> {
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
  };
}
