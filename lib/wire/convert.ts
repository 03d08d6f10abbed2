import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MemberRole } from "../auth/index.ts";
import { invalidField } from "../errors/index.ts";
import type { AgentHealth } from "../fleet/index.ts";
import {
  DeploymentMode as DeploymentModeEnum,
  type IssuedCertificate as IssuedCertificateMessage,
  IssuedCertificateSchema,
  Role as RoleEnum,
} from "../gen/drover/v1/identity_pb.ts";
import {
  type Agent,
  AgentSchema,
  AgentState as AgentStateEnum,
  MemberRole as MemberRoleEnum,
  type Organization,
  OrganizationSchema,
  type Workspace,
  WorkspaceSchema,
} from "../gen/drover/v1/operator_pb.ts";
import { type HealthReport, HealthReportSchema } from "../gen/drover/v1/session_pb.ts";
import type { IssuedCertificate, Role } from "../pki/index.ts";
import type {
  AgentRow,
  AgentState,
  DeploymentMode,
  OrganizationRow,
  WorkspaceRow,
} from "../store/index.ts";
import { nginxStatusFromProto, nginxStatusToProto } from "./nginx-status.ts";
import { alertsFromProto, alertsToProto } from "./telemetry.ts";
import { workspaceSettingsToProto } from "./workspace.ts";

/** Proto ↔ domain conversions; the only place that knows both shapes. */

const memberRoles: Record<number, MemberRole> = {
  [MemberRoleEnum.OWNER]: "owner",
  [MemberRoleEnum.ADMIN]: "admin",
  [MemberRoleEnum.VIEWER]: "viewer",
};

export function memberRoleFromProto(role: MemberRoleEnum): MemberRole {
  const found = memberRoles[role];
  if (!found)
    throw invalidField(
      "role",
      "must be MEMBER_ROLE_OWNER, MEMBER_ROLE_ADMIN or MEMBER_ROLE_VIEWER",
    );
  return found;
}

export function roleFromProto(role: RoleEnum): Role {
  if (role === RoleEnum.AGENT) return "agent";
  if (role === RoleEnum.OPERATOR) return "operator";
  throw invalidField("role", "must be ROLE_AGENT or ROLE_OPERATOR");
}

const agentStates: Record<AgentState, AgentStateEnum> = {
  online: AgentStateEnum.ONLINE,
  offline: AgentStateEnum.OFFLINE,
  degraded: AgentStateEnum.DEGRADED,
};

export function agentStateToProto(state: AgentState): AgentStateEnum {
  return agentStates[state];
}

export function agentStateFromProto(state: AgentStateEnum): AgentState | undefined {
  if (state === AgentStateEnum.UNSPECIFIED) return undefined;
  const found = Object.entries(agentStates).find(([, value]) => value === state);
  if (!found) throw invalidField("state", "unknown agent state");
  return found[0] as AgentState;
}

const deploymentModeEnums: Record<DeploymentMode, DeploymentModeEnum> = {
  standalone: DeploymentModeEnum.STANDALONE,
  docker_sidecar: DeploymentModeEnum.DOCKER_SIDECAR,
  kubernetes_sidecar: DeploymentModeEnum.KUBERNETES_SIDECAR,
};

export function deploymentModeToProto(mode: DeploymentMode): DeploymentModeEnum {
  return deploymentModeEnums[mode];
}

/** Unspecified (an older agent) is standalone, as the seed's default. */
export function deploymentModeFromProto(mode: DeploymentModeEnum): DeploymentMode {
  if (mode === DeploymentModeEnum.UNSPECIFIED) return "standalone";
  const found = Object.entries(deploymentModeEnums).find(([, value]) => value === mode);
  if (!found) throw invalidField("deployment_mode", "unknown deployment mode");
  return found[0] as DeploymentMode;
}

export function certificateToProto(certificate: IssuedCertificate): IssuedCertificateMessage {
  return create(IssuedCertificateSchema, {
    certificatePem: certificate.certificatePem,
    serial: certificate.serial,
    notAfter: timestampFromDate(certificate.notAfter),
  });
}

function byteCount(field: string, value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidField(field, "is too large");
  return Number(value);
}

export function healthFromProto(report: HealthReport | undefined): AgentHealth {
  if (!report) throw invalidField("report", "is required");
  return {
    observedAt: (report.observedAt ? timestampDate(report.observedAt) : new Date(0)).toISOString(),
    cpuPercent: report.cpuPercent,
    memoryUsedBytes: byteCount("report.memory_used_bytes", report.memoryUsedBytes),
    memoryTotalBytes: byteCount("report.memory_total_bytes", report.memoryTotalBytes),
    diskUsedBytes: byteCount("report.disk_used_bytes", report.diskUsedBytes),
    diskTotalBytes: byteCount("report.disk_total_bytes", report.diskTotalBytes),
    loadAverage: [report.loadAverage1m, report.loadAverage5m, report.loadAverage15m],
    uptimeSeconds: report.uptimeSeconds,
    version: report.version,
    configHash: report.configHash,
    checks: report.checks.map(({ name, ok, message }) => ({ name, ok, message })),
    ...(report.nginx === undefined ? {} : { nginx: nginxStatusFromProto(report.nginx) }),
    ...(report.alerts.length === 0 ? {} : { alerts: alertsFromProto(report.alerts) }),
  };
}

export function healthToProto(health: AgentHealth): HealthReport {
  return create(HealthReportSchema, {
    observedAt: timestampFromDate(new Date(health.observedAt)),
    cpuPercent: health.cpuPercent,
    memoryUsedBytes: BigInt(health.memoryUsedBytes),
    memoryTotalBytes: BigInt(health.memoryTotalBytes),
    diskUsedBytes: BigInt(health.diskUsedBytes),
    diskTotalBytes: BigInt(health.diskTotalBytes),
    loadAverage1m: health.loadAverage[0],
    loadAverage5m: health.loadAverage[1],
    loadAverage15m: health.loadAverage[2],
    uptimeSeconds: health.uptimeSeconds,
    version: health.version,
    configHash: health.configHash,
    checks: health.checks,
    ...(health.nginx === undefined ? {} : { nginx: nginxStatusToProto(health.nginx) }),
    alerts: alertsToProto(health.alerts ?? []),
  });
}

export function agentToProto(agent: AgentRow): Agent {
  return create(AgentSchema, {
    id: agent.id,
    name: agent.name,
    hostname: agent.hostname,
    ip: agent.ip,
    version: agent.version,
    labels: agent.labels,
    claimedLabels: agent.claimedLabels,
    capabilities: agent.capabilities,
    state: agentStateToProto(agent.state),
    lastSeenAt: agent.lastSeenAt ? timestampFromDate(agent.lastSeenAt) : undefined,
    lastHealth: agent.lastHealth
      ? // Stored only after checkHealth accepted it.
        healthToProto(agent.lastHealth as unknown as AgentHealth)
      : undefined,
    createdAt: timestampFromDate(agent.createdAt),
    workspaceId: agent.workspaceId ?? "",
    deploymentMode: deploymentModeToProto(agent.deploymentMode),
  });
}

export function organizationToProto(row: OrganizationRow): Organization {
  return create(OrganizationSchema, {
    id: row.id,
    name: row.name,
    slug: row.slug,
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
  });
}

export function workspaceToProto(row: WorkspaceRow): Workspace {
  return create(WorkspaceSchema, {
    id: row.id,
    organizationId: row.organizationId,
    name: row.name,
    slug: row.slug,
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
    ...workspaceSettingsToProto(row.globalSettings, row.alertThresholds),
  });
}
