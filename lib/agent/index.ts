export { type AgentOptions, createAgent, type DroverAgent } from "./agent.ts";
export type { BackoffPolicy } from "./backoff.ts";
export { type AgentIdentity, agentPaths, loadAgentIdentity } from "./identity-files.ts";
