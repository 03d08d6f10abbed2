/**
 * Calls between the two ends of an agent's session, in either direction:
 * ids, kinds registered by the modules that own them, deadlines,
 * cancellation, unary or streamed messages with per-call credit. Transport
 * agnostic: the session carries frames, this module gives them meaning.
 */
export {
  type CallChannel,
  type CallChannelOptions,
  type CallOptions,
  type ChannelLimits,
  createCallChannel,
  defaultChannelLimits,
  knownErrorCode,
  type OutgoingCall,
} from "./channel.ts";
export { type CallFrame, type CallSide, opensId } from "./frames.ts";
export {
  type CallHandler,
  type CallHandlers,
  type CallKind,
  callStreaming,
  callUnary,
  createCallHandlers,
  defineCallKind,
  handleStreaming,
  handleUnary,
  type IncomingCall,
  layerHandlers,
} from "./handlers.ts";
export {
  oldestSessionProtocol,
  type ProtocolSide,
  peerProtocol,
  refuseOlderPeer,
  sessionProtocol,
} from "./protocol.ts";
export { type AgentChannels, createAgentChannels } from "./registry.ts";
export { welcomeCall } from "./welcome.ts";
