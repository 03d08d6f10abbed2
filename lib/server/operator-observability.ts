import type { ServiceImpl } from "@connectrpc/connect";
import type { Fleet } from "../fleet/index.ts";
import type { OperatorService } from "../gen/drover/v1/operator_pb.ts";
import { eventHistory, listOpenAlerts, workspaceRollout } from "../tenancy/index.ts";
import {
  eventHistoryQueryFromProto,
  eventToProto,
  openAlertToProto,
  rolloutToProto,
} from "../wire/index.ts";
import { principalOf } from "./operator-tenancy.ts";

type ObservabilityMethods = Pick<
  ServiceImpl<typeof OperatorService>,
  "listAlerts" | "listEvents" | "getWorkspaceRollout"
>;

/** REST's /v1/alerts, /v1/events and /v1/workspaces/{workspace_id}/rollout over the same tenancy functions. */
export function operatorObservabilityMethods(fleet: Fleet): ObservabilityMethods {
  return {
    async listAlerts(request, context) {
      const alerts = await listOpenAlerts(fleet, principalOf(context), {
        workspaceId: request.workspaceId || undefined,
      });
      return { alerts: alerts.map(openAlertToProto) };
    },
    async listEvents(request, context) {
      const query = eventHistoryQueryFromProto(request);
      const page = await eventHistory(fleet.deps, principalOf(context), query);
      return {
        events: page.events.map(eventToProto),
        limit: query.limit,
        nextBefore: page.nextBefore === null ? undefined : BigInt(page.nextBefore),
        nextAfter: page.nextAfter === null ? undefined : BigInt(page.nextAfter),
      };
    },
    async getWorkspaceRollout(request, context) {
      return rolloutToProto(
        await workspaceRollout(fleet.deps, principalOf(context), request.workspaceId),
      );
    },
  };
}
