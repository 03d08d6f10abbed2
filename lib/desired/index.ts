/**
 * Desired state of an agent, derived from the store: which files it should
 * hold (its nginx.conf and the certificate files of the TLS hosts it serves)
 * and their drift hash. `desiredStateForAgent` is a pure function of the
 * rows; `loadDesiredState` reads them; `affectedAgents` says whose state a
 * workspace's configuration change may move. Delivery lives elsewhere
 * (lib/drift diffs, the agent service pushes).
 *
 * Files are named relative to the agent's file root:
 * - `nginx/nginx.conf` (0644), compiled by lib/nginx;
 * - `certs/<certificate id>.pem` (0644) and `certs/<certificate id>.key`
 *   (0600, secret) for each certificate a served host uses;
 * - the workspace's agent files (files, secrets, env templates rendered for
 *   the agent) that target it, at their own paths: never under nginx/,
 *   certs/ or keys/ (lib/agent writes generated keys there).
 */

export { type CompileMemo, createCompileMemo } from "./compile-memo.ts";
export { type AgentFiles, agentFilesForAgent } from "./files.ts";
export {
  affectedAgents,
  type ConfigChange,
  loadDesiredState,
  loadWorkspaceConfig,
  type WorkspaceConfig,
} from "./load.ts";
export {
  AGENT_FILE_MAX_BYTES,
  agentFilePathProblem,
  CERTIFICATE_DIR,
  CERTIFICATE_MODE,
  certificateFilePaths,
  KEY_DIR,
  KEY_MODE,
  NGINX_CONFIG_MODE,
  NGINX_CONFIG_PATH,
  NGINX_DIR,
  NGINX_INCLUDE_PATH,
  RECEIVER_STATE_FILE,
  underRoot,
} from "./paths.ts";
export { desiredFilesOnly, desiredStateForAgent } from "./state.ts";
export { hostsForAgent, type Targeting, targetsLabels } from "./targeting.ts";
export {
  type AgentField,
  isFileName,
  parseTemplate,
  renderTemplate,
  type TemplateContext,
  type TemplatePart,
  templateSecrets,
} from "./template.ts";
export type {
  CertificateMaterial,
  DesiredState,
  DesiredStateInput,
  DesiredStateOptions,
} from "./types.ts";
