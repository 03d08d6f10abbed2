import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type CallFrame, knownErrorCode } from "../channel/index.ts";
import type { CommandKind, CommandOutcome, NginxCommand } from "../delivery/index.ts";
import { invalidField } from "../errors/index.ts";
import {
  type CallFrame as CallFrameMessage,
  CallFrameSchema,
  type Command,
  CommandKind as CommandKindEnum,
  type CommandResult,
  type CommandResultSchema,
  type CommandSchema,
} from "../gen/drover/v1/session_pb.ts";
import { nginxStatusFromProto, nginxStatusToProto } from "./nginx-status.ts";

export const commandKinds: Record<number, CommandKind> = {
  [CommandKindEnum.RELOAD]: "reload",
  [CommandKindEnum.RESTART]: "restart",
  [CommandKindEnum.STOP]: "stop",
  [CommandKindEnum.GET_STATUS]: "get_status",
  [CommandKindEnum.VALIDATE_CONFIG]: "validate_config",
};
export const commandKindEnums = Object.fromEntries(
  Object.entries(commandKinds).map(([value, kind]) => [kind, Number(value)]),
) as Record<CommandKind, CommandKindEnum>;

/** Call frames: protobuf ↔ lib/channel. A frame without a body is refused. */
export function callFrameFromProto(message: CallFrameMessage): CallFrame {
  const { id, frame } = message;
  switch (frame.case) {
    case "open": {
      const { kind, payload, deadlineMs, window, halfClose } = frame.value;
      if (kind === "" || kind.length > 128)
        throw invalidField("call.open.kind", "must be 1-128 characters");
      return {
        id,
        type: "open",
        kind,
        payload,
        deadlineMs,
        window: Math.max(1, window),
        halfClose,
      };
    }
    case "data":
      return { id, type: "data", payload: frame.value.payload };
    case "end": {
      const { errorCode, errorMessage } = frame.value;
      return errorCode === ""
        ? { id, type: "end" }
        : {
            id,
            type: "end",
            error: { code: knownErrorCode(errorCode), message: errorMessage.slice(0, 4096) },
          };
    }
    case "cancel":
      return { id, type: "cancel", reason: frame.value.reason.slice(0, 1024) };
    case "credit":
      return { id, type: "credit", messages: frame.value.messages };
    default:
      throw invalidField("call.frame", "is required");
  }
}

export function callFrameToProto(frame: CallFrame): CallFrameMessage {
  const { id } = frame;
  switch (frame.type) {
    case "open":
      return create(CallFrameSchema, {
        id,
        frame: {
          case: "open",
          value: {
            kind: frame.kind,
            payload: frame.payload,
            deadlineMs: frame.deadlineMs,
            window: frame.window,
            halfClose: frame.halfClose,
          },
        },
      });
    case "data":
      return create(CallFrameSchema, {
        id,
        frame: { case: "data", value: { payload: frame.payload } },
      });
    case "end":
      return create(CallFrameSchema, {
        id,
        frame: {
          case: "end",
          value:
            frame.error === undefined
              ? {}
              : { errorCode: frame.error.code, errorMessage: frame.error.message },
        },
      });
    case "cancel":
      return create(CallFrameSchema, {
        id,
        frame: { case: "cancel", value: { reason: frame.reason } },
      });
    case "credit":
      return create(CallFrameSchema, {
        id,
        frame: { case: "credit", value: { messages: frame.messages } },
      });
  }
}

/** The nginx.command call's request. */
export function nginxCommandToProto(command: NginxCommand): MessageInitShape<typeof CommandSchema> {
  return {
    kind: commandKindEnums[command.kind],
    configText: command.configText ?? "",
    timeoutSeconds: command.timeoutSeconds ?? 0,
  };
}

export function nginxCommandFromProto(command: Command): NginxCommand {
  const kind = commandKinds[command.kind];
  if (!kind) throw invalidField("command.kind", "is not a command this agent knows");
  return {
    kind,
    ...(command.configText === "" ? {} : { configText: command.configText }),
    ...(command.timeoutSeconds === 0 ? {} : { timeoutSeconds: command.timeoutSeconds }),
  };
}

export function commandResultToProto(
  outcome: CommandOutcome,
): MessageInitShape<typeof CommandResultSchema> {
  return {
    ok: outcome.ok,
    errors: outcome.errors,
    ...(outcome.status === undefined ? {} : { status: nginxStatusToProto(outcome.status) }),
  };
}

export function commandResultFromProto(result: CommandResult): CommandOutcome {
  const status = result.status === undefined ? undefined : nginxStatusFromProto(result.status);
  return { ok: result.ok, errors: [...result.errors], ...(status === undefined ? {} : { status }) };
}
