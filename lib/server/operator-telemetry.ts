import type { ServiceImpl } from "@connectrpc/connect";
import type { Fleet } from "../fleet/index.ts";
import type { OperatorService } from "../gen/drover/v1/operator_pb.ts";
import { agentLogs, agentReportedMetrics } from "../tenancy/index.ts";
import {
  agentLogQueryFromProto,
  agentLogToProto,
  reportedMetricsQueryFromProto,
  reportedMetricToProto,
} from "../wire/index.ts";
import { principalOf } from "./operator-tenancy.ts";

type TelemetryMethods = Pick<
  ServiceImpl<typeof OperatorService>,
  "listAgentReportedMetrics" | "listAgentLogs"
>;

/** REST's /v1/agents/{agent_id}/reported-metrics and /logs over the same tenancy functions. */
export function operatorTelemetryMethods(fleet: Fleet): TelemetryMethods {
  return {
    async listAgentReportedMetrics(request, context) {
      const rows = await agentReportedMetrics(
        fleet,
        principalOf(context),
        request.agentId,
        reportedMetricsQueryFromProto(request),
      );
      return { metrics: rows.map(reportedMetricToProto) };
    },
    async listAgentLogs(request, context) {
      const rows = await agentLogs(
        fleet,
        principalOf(context),
        request.agentId,
        agentLogQueryFromProto(request),
      );
      return { entries: rows.map(agentLogToProto) };
    },
  };
}
