/**
 * The agent's nginx appliers, one apply sequence (stage → validate → backup →
 * swap → reload → confirm, rolling back when nginx does not take the new
 * configuration) and one status reader (pid, uptime, stub_status connections
 * and request rate) for both modes:
 * - `--nginx-mode managed` (createNginxManager): nginx runs as the agent's own
 *   master in a prefix inside the agent data dir (adopting one that is
 *   already running); the agent writes the whole nginx.conf;
 * - `--nginx-mode system` (createSystemNginxManager): the machine's nginx
 *   serves; the agent writes only `<--nginx-conf-dir>/drover.conf`, an
 *   http-level fragment (compile with layout "include"), and tests it
 *   against the system's main configuration.
 */
export {
  type ApplyPhase,
  type ApplyReport,
  type ApplyStatus,
  type ApplyStep,
  type CommandResult,
  createNginxManager,
  type ManagedNginxManager,
  type NginxManager,
  type NginxManagerCommonOptions,
  type NginxManagerHooks,
  type NginxManagerOptions,
  type NginxManagerPaths,
  type NginxStatus,
  type RunningNginx,
  type StopResult,
  type ValidationResult,
} from "./manager.ts";
export {
  parseNginxErrors,
  parseStubStatus,
  redactNginxDiagnostics,
  type StubStatus,
} from "./output.ts";
export {
  managedNginxTempDir,
  type NginxPaths,
  nginxPaths,
  nginxRuntimePaths,
  ROOT_NGINX_TEMP_PARENT,
} from "./paths.ts";
export {
  createSystemNginxManager,
  type SystemNginx,
  type SystemNginxManager,
  type SystemNginxManagerOptions,
  type SystemNginxPaths,
} from "./system.ts";
