export {
  type AgentNginxOptions,
  type AgentOptions,
  createAgent,
  type DroverAgent,
} from "./agent.ts";
export type { BackoffPolicy } from "./backoff.ts";
export {
  type ApplyResult,
  createFileReceiver,
  type FileReceiver,
  type FileReceiverOptions,
  type IncomingFile,
  manifestFileName,
  type WriteFile,
} from "./file-receiver.ts";
export { type AgentIdentity, agentPaths, loadAgentIdentity } from "./identity-files.ts";
export { MAX_STATIC_ROOTS, resolveStaticRoots } from "./static-roots.ts";
export type { AgentTelemetry } from "./telemetry.ts";
