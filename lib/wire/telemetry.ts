import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  TelemetryLogEntry,
  TelemetryMessage,
  TelemetryMetricsBatch,
} from "../delivery/index.ts";
import { invalidField } from "../errors/index.ts";
import { type AgentAlert, isAlertSeverity } from "../fleet/index.ts";
import {
  type AgentLogEntry,
  AgentLogEntrySchema,
  type ListAgentLogsRequest,
  type ListAgentReportedMetricsRequest,
  type ReportedMetric,
  ReportedMetricSchema,
} from "../gen/drover/v1/operator_pb.ts";
import {
  type AgentEvent,
  type Alert,
  AlertSchema,
  type LogBatch,
  type MetricsBatch,
  MetricType,
  type SessionRequest,
  SessionRequestSchema,
} from "../gen/drover/v1/session_pb.ts";
import type { AgentLogRow, AgentMetricRow, AgentMetricType } from "../store/index.ts";
import {
  type AgentLogQuery,
  type ReportedMetricsQuery,
  TELEMETRY_LIMIT_DEFAULT,
} from "../tenancy/index.ts";
import { timeWindowFromProto } from "./config.ts";

/**
 * The agent's own telemetry: protobuf ↔ the plain data of lib/delivery. Only
 * the shape is read here; the server's intake bounds and checks the content,
 * so a bad batch is dropped without ending the session.
 */

const metricTypes: Record<number, AgentMetricType> = {
  // The seed's clients may leave the type out: an untyped figure is a gauge, as in Prometheus.
  [MetricType.UNSPECIFIED]: "gauge",
  [MetricType.GAUGE]: "gauge",
  [MetricType.COUNTER]: "counter",
  [MetricType.HISTOGRAM]: "histogram",
};
export const metricTypeEnums: Record<AgentMetricType, MetricType> = {
  gauge: MetricType.GAUGE,
  counter: MetricType.COUNTER,
  histogram: MetricType.HISTOGRAM,
};

/** int64 milliseconds as a number; out-of-range values become 0 ("not given"). */
function millis(value: bigint): number {
  const ms = Number(value);
  return Number.isSafeInteger(ms) ? ms : 0;
}

export function metricsBatchFromProto(batch: MetricsBatch): TelemetryMetricsBatch {
  return {
    timestampMs: millis(batch.timestamp),
    metrics: batch.metrics.map((metric) => ({
      name: metric.name,
      value: metric.value,
      timestampMs: millis(metric.timestamp),
      labels: { ...metric.labels },
      // A type from a newer agent: kept as a gauge rather than refusing its whole batch.
      type: metricTypes[metric.type] ?? "gauge",
    })),
  };
}

export function logBatchFromProto(batch: LogBatch): TelemetryLogEntry[] {
  return batch.entries.map((entry) => ({
    timestampMs: millis(entry.timestamp),
    level: entry.level,
    message: entry.message,
    fields: { ...entry.fields },
  }));
}

export function agentEventFromProto(event: AgentEvent): TelemetryMessage {
  return {
    kind: "event",
    event: {
      eventId: event.eventId,
      eventType: event.eventType,
      timestampMs: millis(event.timestamp),
      data: { ...event.data },
    },
  };
}

export function telemetryToProto(message: TelemetryMessage): SessionRequest {
  switch (message.kind) {
    case "metrics":
      return create(SessionRequestSchema, {
        payload: {
          case: "metrics",
          value: {
            timestamp: BigInt(message.batch.timestampMs),
            metrics: message.batch.metrics.map((metric) => ({
              ...metric,
              timestamp: BigInt(metric.timestampMs),
              type: metricTypeEnums[metric.type],
            })),
          },
        },
      });
    case "logs":
      return create(SessionRequestSchema, {
        payload: {
          case: "logs",
          value: {
            entries: message.entries.map((entry) => ({
              ...entry,
              timestamp: BigInt(entry.timestampMs),
            })),
          },
        },
      });
    case "event":
      return create(SessionRequestSchema, {
        payload: {
          case: "event",
          value: { ...message.event, timestamp: BigInt(message.event.timestampMs) },
        },
      });
  }
}

/** HealthReport.alerts: a severity outside the seed's four is refused, naming the alert. */
export function alertsFromProto(alerts: Alert[]): AgentAlert[] {
  return alerts.map((alert, i) => {
    if (!isAlertSeverity(alert.severity))
      throw invalidField(
        `report.alerts[${i}].severity`,
        "must be info, warning, error or critical",
      );
    return {
      id: alert.id,
      severity: alert.severity,
      message: alert.message,
      timestamp: new Date(millis(alert.timestamp)).toISOString(),
    };
  });
}

export function alertsToProto(alerts: readonly AgentAlert[]): Alert[] {
  return alerts.map((alert) =>
    create(AlertSchema, {
      id: alert.id,
      severity: alert.severity,
      message: alert.message,
      timestamp: BigInt(Date.parse(alert.timestamp) || 0),
    }),
  );
}

export function reportedMetricToProto(row: AgentMetricRow): ReportedMetric {
  return create(ReportedMetricSchema, {
    name: row.name,
    value: row.value,
    type: metricTypeEnums[row.type],
    labels: row.labels,
    timestamp: timestampFromDate(row.timestamp),
  });
}

export function agentLogToProto(row: AgentLogRow): AgentLogEntry {
  return create(AgentLogEntrySchema, {
    timestamp: timestampFromDate(row.timestamp),
    level: row.level,
    message: row.message,
    fields: row.fields,
  });
}

/** The operator's query: unset limit is REST's default; an unset window the last 24 hours. */
export function reportedMetricsQueryFromProto(
  request: ListAgentReportedMetricsRequest,
): ReportedMetricsQuery {
  return {
    ...timeWindowFromProto(request),
    name: request.name,
    limit: request.limit ?? TELEMETRY_LIMIT_DEFAULT,
  };
}

export function agentLogQueryFromProto(request: ListAgentLogsRequest): AgentLogQuery {
  return {
    ...timeWindowFromProto(request),
    level: request.level,
    limit: request.limit ?? TELEMETRY_LIMIT_DEFAULT,
  };
}
