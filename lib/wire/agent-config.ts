import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { CommandOutcome, NginxCommand } from "../delivery/index.ts";
import { invalidField } from "../errors/index.ts";
import {
  type AgentConfigStatus,
  AgentConfigStatusSchema,
  type SendAgentCommandRequest,
  type SendAgentCommandResponse,
  SendAgentCommandResponseSchema,
  VirtualHostOutcome,
} from "../gen/drover/v1/operator_pb.ts";
import type { ConfigHostOutcome, ConfigStatusRow } from "../store/index.ts";
import { commandKinds } from "./calls.ts";
import { nginxStatusFromProto, nginxStatusToProto } from "./nginx-status.ts";
import { applyStateEnums, applyStates } from "./session.ts";

/** The operator API's agent configuration status and nginx commands ↔ the plain data of lib/store and lib/delivery. */

const hostOutcomes: Record<number, ConfigHostOutcome["status"]> = {
  [VirtualHostOutcome.APPLIED]: "applied",
  [VirtualHostOutcome.SET_ASIDE]: "set_aside",
};
const hostOutcomeEnums: Record<ConfigHostOutcome["status"], VirtualHostOutcome> = {
  applied: VirtualHostOutcome.APPLIED,
  set_aside: VirtualHostOutcome.SET_ASIDE,
};

/** The agent an agent-scoped request is about: required. */
export function agentIdFromProto(request: { agentId: string }): string {
  if (request.agentId === "") throw invalidField("agent_id", "is required");
  return request.agentId;
}

/** An agent without a status row (it never had a session) is pending with nothing known, as in REST. */
export function agentConfigToProto(
  agentId: string,
  row: ConfigStatusRow | null,
): AgentConfigStatus {
  return create(AgentConfigStatusSchema, {
    agentId,
    state: applyStateEnums[row?.state ?? "pending"],
    errors: row?.errors ?? [],
    steps: (row?.steps ?? []).map((step) => ({ ...step, detail: step.detail ?? "" })),
    virtualHosts: (row?.hosts ?? []).map((host) => ({
      id: host.id,
      status: hostOutcomeEnums[host.status],
      reason: host.reason,
      field: host.field,
    })),
    files: (row?.files ?? []).map(({ id, path, reason }) => ({ id, path, reason })),
    ...(row && {
      desiredVersion: row.desiredVersion,
      version: row.version,
      appliedVersion: row.appliedVersion ?? undefined,
      configVersion: BigInt(row.revision),
      desiredConfigVersion: BigInt(row.desiredRevision),
      appliedConfigVersion: row.appliedRevision === null ? undefined : BigInt(row.appliedRevision),
      appliedAt: row.appliedAt ? timestampFromDate(row.appliedAt) : undefined,
      durationMs: row.durationMs ?? undefined,
      updatedAt: timestampFromDate(row.updatedAt),
    }),
  });
}

/** The status row back, for clients that print REST's shape; null for an agent without one (no updated_at). */
export function agentConfigFromProto(status: AgentConfigStatus): ConfigStatusRow | null {
  if (status.updatedAt === undefined) return null;
  const state = applyStates[status.state];
  if (!state) throw invalidField("status.state", "must be an apply state");
  return {
    agentId: status.agentId,
    desiredVersion: status.desiredVersion ?? "",
    desiredRevision: Number(status.desiredConfigVersion),
    version: status.version ?? "",
    revision: Number(status.configVersion),
    state,
    appliedVersion: status.appliedVersion ?? null,
    appliedRevision:
      status.appliedConfigVersion === undefined ? null : Number(status.appliedConfigVersion),
    appliedAt: status.appliedAt ? timestampDate(status.appliedAt) : null,
    durationMs: status.durationMs ?? null,
    errors: [...status.errors],
    steps: status.steps.map((step) => ({
      name: step.name,
      ok: step.ok,
      durationMs: step.durationMs,
      ...(step.detail === "" ? {} : { detail: step.detail }),
    })),
    hosts: status.virtualHosts.map((host, i) => {
      const outcome = hostOutcomes[host.status];
      if (!outcome) throw invalidField(`status.virtual_hosts.${i}.status`, "is required");
      return {
        id: host.id,
        status: outcome,
        ...(host.reason === undefined ? {} : { reason: host.reason }),
        ...(host.field === undefined ? {} : { field: host.field }),
      };
    }),
    files: status.files.map(({ id, path, reason }) => ({
      id,
      path,
      status: "set_aside" as const,
      reason,
    })),
    updatedAt: timestampDate(status.updatedAt),
  };
}

/** The command to send; zero values are "not given". What the command may hold is the tenancy layer's check. */
export function agentCommandFromProto(request: SendAgentCommandRequest): {
  agentId: string;
  command: Omit<NginxCommand, "id">;
} {
  const agentId = agentIdFromProto(request);
  const kind = commandKinds[request.kind];
  if (!kind)
    throw invalidField("kind", "must be RELOAD, RESTART, STOP, GET_STATUS or VALIDATE_CONFIG");
  return {
    agentId,
    command: {
      kind,
      ...(request.configText === "" ? {} : { configText: request.configText }),
      ...(request.timeoutSeconds === 0 ? {} : { timeoutSeconds: request.timeoutSeconds }),
    },
  };
}

export function commandOutcomeToProto(
  outcome: Omit<CommandOutcome, "id">,
): SendAgentCommandResponse {
  return create(SendAgentCommandResponseSchema, {
    ok: outcome.ok,
    errors: outcome.errors,
    nginx: outcome.status === undefined ? undefined : nginxStatusToProto(outcome.status),
  });
}

export function commandOutcomeFromProto(
  response: SendAgentCommandResponse,
): Omit<CommandOutcome, "id"> {
  return {
    ok: response.ok,
    errors: [...response.errors],
    ...(response.nginx === undefined ? {} : { status: nginxStatusFromProto(response.nginx) }),
  };
}
