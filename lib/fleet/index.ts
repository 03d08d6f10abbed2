export { type AgentPage, agentPayload, type ListAgentsInput } from "./agents.ts";
export type { FleetAuthority } from "./authority.ts";
export type { FleetDeps, FleetSettings } from "./deps.ts";
export { createFleet, type Fleet } from "./fleet.ts";
export type { AgentHealth, HealthCheckResult, NginxHealth } from "./health.ts";
export type { HealthStream } from "./health-stream.ts";
export type { CreatedJoinToken, CreateJoinTokenInput } from "./join-tokens.ts";
export { certificateRecord, type RegisterInput, type Registration } from "./registration.ts";
export { isIpAddress } from "./validate.ts";
