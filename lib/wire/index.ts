export {
  agentStateFromProto,
  agentStateToProto,
  agentToProto,
  certificateToProto,
  healthFromProto,
  healthToProto,
  roleFromProto,
} from "./convert.ts";
