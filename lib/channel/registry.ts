import { DroverError } from "../errors/index.ts";
import type { CallChannel } from "./channel.ts";

/**
 * The call channel of each connected agent: the one place callers (nginx
 * commands, node functions, later drivers) find an agent's session. One per
 * agent; a reconnect replaces the previous one.
 */
export interface AgentChannels {
  /** Registers the agent's channel; the returned detach removes it unless a newer one replaced it. */
  attach(agentId: string, channel: CallChannel): () => void;
  get(agentId: string): CallChannel | undefined;
  /** The agent's channel, or unavailable saying it is not connected. */
  require(agentId: string): CallChannel;
  readonly size: number;
}

export function createAgentChannels(): AgentChannels {
  const channels = new Map<string, CallChannel>();
  return {
    attach(agentId, channel) {
      channels.get(agentId)?.close(new DroverError("unavailable", `agent ${agentId} reconnected`));
      channels.set(agentId, channel);
      return () => {
        if (channels.get(agentId) === channel) channels.delete(agentId);
      };
    },
    get: (agentId) => channels.get(agentId),
    require(agentId) {
      const channel = channels.get(agentId);
      if (!channel)
        throw new DroverError(
          "unavailable",
          `agent ${agentId} is not connected: calls reach connected agents only`,
        );
      return channel;
    },
    get size() {
      return channels.size;
    },
  };
}
