export {
  agentCommandFromProto,
  agentConfigFromProto,
  agentConfigToProto,
  agentIdFromProto,
  commandOutcomeFromProto,
  commandOutcomeToProto,
} from "./agent-config.ts";
export {
  callFrameFromProto,
  callFrameToProto,
  commandKindEnums,
  commandResultFromProto,
  commandResultToProto,
  nginxCommandFromProto,
  nginxCommandToProto,
} from "./calls.ts";
export {
  accessLogQueryFromProto,
  accessLogToProto,
  certificateInputFromProto,
  metricsToProto,
  timeWindowFromProto,
  tlsCertificateToProto,
  upstreamInputFromProto,
  upstreamPatchFromProto,
  upstreamToProto,
  virtualHostInputFromProto,
  virtualHostPatchFromProto,
  virtualHostToProto,
} from "./config.ts";
export {
  agentStateFromProto,
  agentStateToProto,
  agentToProto,
  certificateToProto,
  deploymentModeFromProto,
  deploymentModeToProto,
  healthFromProto,
  healthToProto,
  memberRoleFromProto,
  organizationToProto,
  roleFromProto,
  workspaceToProto,
} from "./convert.ts";
export { memberToProto, userWithRolesToProto } from "./members.ts";
export { nginxStatusFromProto, nginxStatusToProto } from "./nginx-status.ts";
export {
  eventHistoryQueryFromProto,
  eventToProto,
  metricsRequestFromProto,
  openAlertToProto,
  rolloutToProto,
  trafficBucketToProto,
} from "./observability.ts";
export {
  agentMessageFromProto,
  agentMessageToProto,
  serverMessageFromProto,
  serverMessageToProto,
  sessionHelloFromProto,
  sessionHelloToProto,
} from "./session.ts";
export {
  agentLogQueryFromProto,
  agentLogToProto,
  reportedMetricsQueryFromProto,
  reportedMetricToProto,
} from "./telemetry.ts";
export { workspaceInputFromProto, workspacePatchFromProto } from "./workspace.ts";
