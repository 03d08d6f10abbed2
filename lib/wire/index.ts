export {
  agentStateFromProto,
  agentStateToProto,
  agentToProto,
  certificateToProto,
  healthFromProto,
  healthToProto,
  memberRoleFromProto,
  organizationToProto,
  roleFromProto,
  workspaceToProto,
} from "./convert.ts";
