import { create, type JsonObject } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { FleetEvent } from "../events/index.ts";
import {
  type GetWorkspaceRolloutResponse,
  GetWorkspaceRolloutResponseSchema,
  type ListEventsRequest,
  type OpenAlert,
  OpenAlertSchema,
  type TrafficBucket,
  TrafficBucketSchema,
  type WatchEventsResponse,
  WatchEventsResponseSchema,
} from "../gen/drover/v1/operator_pb.ts";
import type { RolloutCounts } from "../store/index.ts";
import type {
  EventHistoryQuery,
  MetricsRequest,
  TrafficBucket as TrafficBucketRow,
  VisibleAlert,
} from "../tenancy/index.ts";
import { timeWindowFromProto } from "./config.ts";

/** Open alerts, metrics series, event history and rollout: proto ↔ the service layer's shapes. */

/** REST's default page of events. */
const eventLimitDefault = 100;

/** Proto3's empty interval is "none", as REST's absent query parameter. */
export function metricsRequestFromProto(request: {
  from?: Timestamp;
  to?: Timestamp;
  interval: string;
}): MetricsRequest {
  return { ...timeWindowFromProto(request), interval: request.interval || undefined };
}

export function trafficBucketToProto(bucket: TrafficBucketRow): TrafficBucket {
  return create(TrafficBucketSchema, {
    from: timestampFromDate(bucket.from),
    to: timestampFromDate(bucket.to),
    requestsTotal: BigInt(bucket.requestsTotal),
    errorsTotal: BigInt(bucket.errorsTotal),
    inBytes: BigInt(bucket.inBytes),
    outBytes: BigInt(bucket.outBytes),
    statusCodes: {
      status2xx: BigInt(bucket.statusCodes["2xx"]),
      status3xx: BigInt(bucket.statusCodes["3xx"]),
      status4xx: BigInt(bucket.statusCodes["4xx"]),
      status5xx: BigInt(bucket.statusCodes["5xx"]),
    },
  });
}

export function openAlertToProto(alert: VisibleAlert): OpenAlert {
  return create(OpenAlertSchema, {
    alertId: alert.alertId,
    agentId: alert.agentId,
    workspaceId: alert.workspaceId ?? undefined,
    severity: alert.severity,
    message: alert.message,
    metric: alert.metric,
    value: alert.value,
    source: alert.source,
    since: timestampFromDate(alert.since),
  });
}

/** One event as WatchEvents streams it and ListEvents pages it. */
export function eventToProto(event: FleetEvent): WatchEventsResponse {
  return create(WatchEventsResponseSchema, {
    seq: BigInt(event.seq),
    type: event.type,
    subjectId: event.subjectId,
    at: timestampFromDate(event.at),
    data: (event.data ?? {}) as JsonObject,
  });
}

export function eventHistoryQueryFromProto(request: ListEventsRequest): EventHistoryQuery {
  return {
    before: request.before === undefined ? undefined : Number(request.before),
    after: request.after === undefined ? undefined : Number(request.after),
    types: request.types.length === 0 ? undefined : request.types,
    workspaceId: request.workspaceId || undefined,
    limit: request.limit ?? eventLimitDefault,
  };
}

export function rolloutToProto(counts: RolloutCounts): GetWorkspaceRolloutResponse {
  return create(GetWorkspaceRolloutResponseSchema, {
    agents: counts.agents,
    applied: counts.applied,
    pending: counts.pending,
    failed: counts.failed,
    setAsideHosts: counts.setAsideHosts,
  });
}
