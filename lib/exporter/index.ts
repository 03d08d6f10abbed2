/**
 * Exporters (issue 14): an agent run with --exporter offers drivers for
 * lease. The agent side (config, drivers, fencing, hooks, the tunnel's
 * exporter end) and the tunnel's client end, which the CLI uses.
 */
export { createExporterOutbox, type ExporterOutbox, registerExporterCalls } from "./agent.ts";
export {
  checkExporterLines,
  type DriverConfig,
  type DriverType,
  type ExporterConfig,
  type HookConfig,
  loadExporterConfig,
  parseExporterConfig,
} from "./config.ts";
export { type DriverInstance, driverUuid } from "./drivers/index.ts";
export {
  type AuditEvent,
  createExporter,
  type Exporter,
  type ExporterOptions,
  type ExporterStatusView,
  type LogEntry,
  type ServedLease,
  type StatusReport,
} from "./exporter.ts";
export { exporterCalls } from "./kinds.ts";
export { streamRequestHeader, type TunnelScope } from "./service.ts";
export {
  type ExporterClient,
  type FrameEnd,
  frameDuplex,
  openExporterClient,
  routerStreamDuplex,
  type ServedTunnel,
  serveExporterTunnel,
} from "./tunnel.ts";
