/**
 * The agent's nginx applier for `--nginx-mode managed`: runs nginx as its own
 * master in a prefix inside the agent data dir (adopting one that is already
 * running), applies compiled configurations with stage → validate → backup →
 * swap → reload → confirm and rolls back when nginx does not take them, and
 * reads status (pid, uptime, stub_status connections and request rate).
 */
export {
  type ApplyPhase,
  type ApplyReport,
  type ApplyStatus,
  type ApplyStep,
  type CommandResult,
  createNginxManager,
  type NginxManager,
  type NginxManagerHooks,
  type NginxManagerOptions,
  type NginxStatus,
  type RunningNginx,
  type StopResult,
  type ValidationResult,
} from "./manager.ts";
export { parseNginxErrors, parseStubStatus, type StubStatus } from "./output.ts";
export { type NginxPaths, nginxPaths, nginxRuntimePaths } from "./paths.ts";
