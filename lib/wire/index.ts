export {
  agentStateFromProto,
  agentStateToProto,
  agentToProto,
  certificateToProto,
  healthFromProto,
  healthToProto,
  memberRoleFromProto,
  roleFromProto,
} from "./convert.ts";
