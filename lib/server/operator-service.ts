import { durationMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ConfigDelivery } from "../delivery/index.ts";
import type { Fleet } from "../fleet/index.ts";
import { agentJoinCommands } from "../fleet/index.ts";
import type { OperatorService } from "../gen/drover/v1/operator_pb.ts";
import type { UserRow } from "../store/index.ts";
import {
  commandAgentFor,
  createJoinTokenFor,
  createUser,
  getAgentConfigFor,
  resetUserPassword,
} from "../tenancy/index.ts";
import {
  agentCommandFromProto,
  agentConfigToProto,
  agentIdFromProto,
  agentStateFromProto,
  agentToProto,
  commandOutcomeToProto,
  memberRoleFromProto,
  roleFromProto,
} from "../wire/index.ts";
import { operatorConfigMethods } from "./operator-config.ts";
import { operatorMemberMethods } from "./operator-members.ts";
import { operatorObservabilityMethods } from "./operator-observability.ts";
import { operatorTelemetryMethods } from "./operator-telemetry.ts";
import { operatorTenancyMethods, principalOf } from "./operator-tenancy.ts";

const userToProto = (user: UserRow) => ({
  id: user.id,
  email: user.email,
  createdAt: timestampFromDate(user.createdAt),
});

export function operatorService(
  fleet: Fleet,
  delivery: ConfigDelivery,
  /** The registration address join commands name (known once registration is bound). */
  joinAddress: () => string,
): ServiceImpl<typeof OperatorService> {
  return {
    ...operatorTenancyMethods(fleet),
    ...operatorConfigMethods(fleet),
    ...operatorTelemetryMethods(fleet),
    ...operatorObservabilityMethods(fleet),
    ...operatorMemberMethods(fleet),
    // As REST's /v1/agents/{agent_id}/config and its commands, through the same tenancy functions.
    async getAgentConfig(request, context) {
      const agentId = agentIdFromProto(request);
      const row = await getAgentConfigFor(fleet, principalOf(context), agentId);
      return { status: agentConfigToProto(agentId, row) };
    },
    async sendAgentCommand(request, context) {
      const { agentId, command } = agentCommandFromProto(request);
      return commandOutcomeToProto(
        await commandAgentFor(fleet, delivery, principalOf(context), agentId, command),
      );
    },
    async createJoinToken(request, context) {
      const role = roleFromProto(request.role);
      const created = await createJoinTokenFor(fleet, principalOf(context), {
        role,
        labels: request.labels,
        ttlMs: request.ttl ? durationMs(request.ttl) : undefined,
        name: request.name,
        allowSelfLabels: request.allowSelfLabels,
        workspaceId: request.workspaceId || undefined,
      });
      const commands =
        role === "agent" ? agentJoinCommands(joinAddress(), created.token) : undefined;
      return {
        token: created.token,
        nonceId: created.nonceId,
        expiresAt: timestampFromDate(created.expiresAt),
        workspaceId: created.workspaceId ?? "",
        agentId: created.agentId ?? "",
        joinCommand: commands?.binary ?? "",
        joinCommandNpx: commands?.npx ?? "",
      };
    },
    async revokeJoinToken(request) {
      await fleet.revokeJoinToken(request.nonceId);
      return {};
    },
    async listAgents(request) {
      const page = await fleet.listAgents({
        selector: request.selector,
        state: agentStateFromProto(request.state),
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return { agents: page.agents.map(agentToProto), nextPageToken: page.nextPageToken };
    },
    async getAgent(request) {
      const agent = agentToProto(await fleet.getAgent(request.id));
      // NxMesh's health.config_version: the config version last applied.
      const config = await fleet.deps.store.configStatus.get(agent.id);
      agent.configVersion = BigInt(config?.appliedRevision ?? 0);
      return { agent };
    },
    async deleteAgent(request) {
      await fleet.deleteAgent(request.id);
      return {};
    },
    async createUser(request) {
      const user = await createUser(fleet.deps, {
        email: request.email,
        password: request.password,
        organizationSlug: request.organizationSlug || undefined,
        role: memberRoleFromProto(request.role),
      });
      return { user: userToProto(user) };
    },
    // Served only to operator certificates: whoever holds the admin credential holds the fleet.
    async resetUserPassword(request) {
      const reset = await resetUserPassword(fleet.deps, {
        email: request.email,
        password: request.password,
      });
      return { user: userToProto(reset.user), revokedRefreshTokens: reset.revokedRefreshTokens };
    },
  };
}
