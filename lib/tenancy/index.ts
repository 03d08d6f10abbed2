export {
  type AgentLogQuery,
  agentLogs,
  agentReportedMetrics,
  type ReportedMetricsQuery,
  TELEMETRY_LIMIT_DEFAULT,
  TELEMETRY_LIMIT_MAX,
} from "./agent-telemetry.ts";
export {
  type AgentUpdate,
  authorizeAgent,
  commandAgentFor,
  createJoinTokenFor,
  createWorkspaceJoinToken,
  deleteAgentFor,
  getAgentConfigFor,
  getAgentFor,
  listWorkspaceAgents,
  updateAgentFor,
  type WorkspaceAgentQuery,
} from "./agents.ts";
export {
  type CertificateInput,
  createCertificate,
  deleteCertificate,
  getCertificate,
  listCertificates,
  renewCertificate,
} from "./certificates.ts";
export { configLimits } from "./config-validate.ts";
export { defaultSlug, ensureDefaultWorkspace, findDefaultWorkspace } from "./default-workspace.ts";
export type { PageOf, PageRequest, TenancyDeps } from "./deps.ts";
export {
  EVENT_HISTORY_LIMIT_MAX,
  type EventHistoryPage,
  type EventHistoryQuery,
  eventHistory,
} from "./event-history.ts";
export { eventVisibility } from "./event-visibility.ts";
export {
  type AgentFileInput,
  createFile,
  deleteFile,
  getFile,
  listFiles,
  updateFile,
} from "./files.ts";
export {
  addMember,
  listMembers,
  listUsers,
  type MemberInput,
  removeMember,
  type UserWithRoles,
  updateMember,
} from "./members.ts";
export { listOpenAlerts, type VisibleAlert } from "./open-alerts.ts";
export {
  createOrganization,
  deleteOrganization,
  getOrganization,
  listOrganizations,
  type OrganizationInput,
  updateOrganization,
} from "./organizations.ts";
export { workspaceRollout } from "./rollout.ts";
export {
  ACCESS_LOG_LIMIT_MAX,
  type AccessLogQuery,
  agentMetrics,
  type MetricsRequest,
  type MetricsWindow,
  queryAccessLogs,
  type TrafficMetrics,
  workspaceMetrics,
} from "./traffic.ts";
export {
  type MetricsInterval,
  metricsIntervals,
  type TrafficBucket,
} from "./traffic-series.ts";
export {
  createUpstream,
  deleteUpstream,
  getUpstream,
  listUpstreams,
  type UpstreamInput,
  updateUpstream,
} from "./upstreams.ts";
export {
  type CreateUserInput,
  changeOwnPassword,
  createUser,
  ensureFirstAdmin,
  firstAdminEmail,
  requireFirstAdminPasswordChange,
  resetUserPassword,
} from "./users.ts";
export {
  createVirtualHost,
  deleteVirtualHost,
  getVirtualHost,
  listVirtualHosts,
  updateVirtualHost,
  type VirtualHostAgentStatus,
  type VirtualHostInput,
  virtualHostStatus,
} from "./virtual-hosts.ts";
export {
  createWorkspace,
  deleteWorkspace,
  getWorkspace,
  listWorkspaces,
  updateWorkspace,
  type WorkspaceInput,
} from "./workspaces.ts";
