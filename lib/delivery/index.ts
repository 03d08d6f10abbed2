/**
 * Configuration delivery, the server's half: each connected agent's desired
 * state (lib/desired) is kept current as the store changes and the
 * difference from what the agent holds (lib/drift) is sent over its session;
 * apply status, drift reports, facts, command results and access logs come
 * back. The transport (lib/server) and the wire format (lib/wire) are
 * elsewhere; the agent's half is lib/agent's config session.
 */
export {
  type AgentSession,
  type ConfigDelivery,
  type ConfigDeliveryOptions,
  createConfigDelivery,
} from "./delivery.ts";
export { nginxCommandCall } from "./nginx-command.ts";
export {
  checkTelemetry,
  createTelemetryIntake,
  normalizeLevel,
  type TelemetryCounts,
  type TelemetryEvent,
  type TelemetryIntake,
  type TelemetryLogEntry,
  type TelemetryMessage,
  type TelemetryMetric,
  type TelemetryMetricsBatch,
  telemetryLimits,
} from "./telemetry.ts";
export type {
  AccessLogEntryInfo,
  ActiveHealthCheck,
  AgentFacts,
  AgentMessage,
  CommandKind,
  CommandOutcome,
  ConfigStatusReport,
  FileDelivery,
  KeyGenRequest,
  NginxCommand,
  NginxMode,
  NginxRuntimeInfo,
  ServerMessage,
  SessionHello,
} from "./types.ts";
export { checkValidateText } from "./validate-text.ts";
