import { defineCallKind } from "../channel/index.ts";
import { CommandResultSchema, CommandSchema } from "../gen/drover/v1/session_pb.ts";

/** NxMesh's commands (reload, restart, stop, status, validate) as a call on the agent's session. */
export const nginxCommandCall = defineCallKind("nginx.command", CommandSchema, CommandResultSchema);
