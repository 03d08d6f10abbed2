import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type Duration,
  durationFromMs,
  durationMs,
  timestampDate,
  timestampFromDate,
} from "@bufbuild/protobuf/wkt";
import { invalidField } from "../errors/index.ts";
import { ExporterStatus } from "../gen/jumpstarter/v1/common_pb.ts";
import type {
  AuditStreamRequest,
  DriverInstanceReport,
  GetLeaseResponseSchema,
  RegisterRequest,
  ReportStatusRequest,
  RequestLeaseRequest,
} from "../gen/jumpstarter/v1/jumpstarter_pb.ts";
import type { LabelSelector, LabelSelectorSchema } from "../gen/jumpstarter/v1/kubernetes_pb.ts";
import type {
  DriverReport,
  ExporterStatusName,
  ExporterStatusReport,
  LeaseRequest,
  LeaseService,
  LeaseView,
} from "../lease/index.ts";
import type { Selector, SelectorTerm } from "../selector/index.ts";

/** The seed's Jumpstarter messages ↔ lib/lease's plain data. */

const statusNames: Record<ExporterStatusName, ExporterStatus> = {
  Offline: ExporterStatus.OFFLINE,
  Available: ExporterStatus.AVAILABLE,
  BeforeLease: ExporterStatus.BEFORE_LEASE_HOOK,
  LeaseReady: ExporterStatus.LEASE_READY,
  AfterLease: ExporterStatus.AFTER_LEASE_HOOK,
  BeforeLeaseFailed: ExporterStatus.BEFORE_LEASE_HOOK_FAILED,
  AfterLeaseFailed: ExporterStatus.AFTER_LEASE_HOOK_FAILED,
};

export function exporterStatusFromProto(
  status: ExporterStatus,
  field = "status",
): ExporterStatusName {
  const name = (Object.keys(statusNames) as ExporterStatusName[]).find(
    (key) => statusNames[key] === status,
  );
  if (name === undefined) throw invalidField(field, `unknown exporter status ${status}`);
  return name;
}

/**
 * Kubernetes' label selector as lib/selector's terms. Drover's selectors are
 * equality-based, so `In` takes one value (`NotIn` any number: one `!=` each).
 */
export function selectorFromProto(
  selector: LabelSelector | undefined,
  field = "selector",
): Selector {
  const terms: SelectorTerm[] = Object.entries(selector?.matchLabels ?? {}).map(([key, value]) => ({
    key,
    op: "=",
    value,
  }));
  for (const [index, requirement] of (selector?.matchExpressions ?? []).entries()) {
    const at = `${field}.match_expressions.${index}`;
    const { key, values } = requirement;
    switch (requirement.operator) {
      case "In":
        if (values.length !== 1)
          throw invalidField(at, "In takes exactly one value here; ask for one lease per value");
        terms.push({ key, op: "=", value: values[0] as string });
        break;
      case "NotIn":
        if (values.length === 0) throw invalidField(at, "NotIn needs at least one value");
        for (const value of values) terms.push({ key, op: "!=", value });
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0) throw invalidField(at, `${requirement.operator} takes no values`);
        terms.push({ key, op: requirement.operator === "Exists" ? "exists" : "!exists" });
        break;
      default:
        throw invalidField(
          `${at}.operator`,
          `unknown operator "${requirement.operator}" (In, NotIn, Exists, DoesNotExist)`,
        );
    }
  }
  return terms;
}

export function selectorToProto(selector: Selector): MessageInitShape<typeof LabelSelectorSchema> {
  const matchLabels: Record<string, string> = {};
  const matchExpressions: Array<{ key: string; operator: string; values: string[] }> = [];
  for (const term of selector) {
    if (term.op === "=" && matchLabels[term.key] === undefined)
      matchLabels[term.key] = term.value ?? "";
    else if (term.op === "=")
      matchExpressions.push({ key: term.key, operator: "In", values: [term.value ?? ""] });
    else if (term.op === "!=")
      matchExpressions.push({ key: term.key, operator: "NotIn", values: [term.value ?? ""] });
    else
      matchExpressions.push({
        key: term.key,
        operator: term.op === "exists" ? "Exists" : "DoesNotExist",
        values: [],
      });
  }
  return { matchLabels, matchExpressions };
}

/** A RequestLease as lib/lease's request; the workspace is resolved by the caller. */
export function leaseRequestFromProto(
  request: RequestLeaseRequest,
  workspaceId: string,
): LeaseRequest {
  const duration: Duration | undefined = request.duration;
  return {
    workspaceId,
    selector: selectorFromProto(request.selector),
    ...(duration === undefined || durationMs(duration) === 0
      ? {}
      : { durationMs: durationMs(duration) }),
    ...(request.beginTime === undefined ? {} : { beginTime: timestampDate(request.beginTime) }),
    ...(request.endTime === undefined ? {} : { endTime: timestampDate(request.endTime) }),
    ...(request.priority === undefined ? {} : { priority: request.priority }),
  };
}

export function leaseToProto(lease: LeaseView): MessageInitShape<typeof GetLeaseResponseSchema> {
  return {
    name: lease.name,
    duration: durationFromMs(lease.durationMs),
    selector: selectorToProto(lease.selector),
    ...(lease.beginTime ? { beginTime: timestampFromDate(lease.beginTime) } : {}),
    ...(lease.endTime ? { endTime: timestampFromDate(lease.endTime) } : {}),
    ...(lease.exporterId ? { exporterUuid: lease.exporterId } : {}),
    conditions: lease.conditions.map((condition) => ({
      type: condition.type,
      status: condition.status,
      reason: condition.reason,
      message: condition.message,
      lastTransitionTime: {
        seconds: BigInt(Math.floor(condition.lastTransitionTime.getTime() / 1000)),
        nanos: (condition.lastTransitionTime.getTime() % 1000) * 1_000_000,
      },
    })),
    workspaceId: lease.workspaceId,
    client: lease.client,
    priority: lease.priority,
    requestedAt: timestampFromDate(lease.requestedAt),
    ...(lease.queuePosition === undefined ? {} : { queuePosition: lease.queuePosition }),
    ...(lease.fencingToken === undefined ? {} : { fencingToken: BigInt(lease.fencingToken) }),
    phase: lease.phase,
    ...(lease.endedAt ? { endedAt: timestampFromDate(lease.endedAt) } : {}),
  };
}

export function driverReportFromProto(report: DriverInstanceReport): DriverReport {
  return {
    uuid: report.uuid,
    ...(report.parentUuid === undefined ? {} : { parentUuid: report.parentUuid }),
    labels: { ...report.labels },
    ...(report.description === undefined ? {} : { description: report.description }),
    methodsDescription: { ...report.methodsDescription },
  };
}

/** An exporter's Register (gRPC or its session's exporter.register): what it claims and offers. */
export function registrationFromProto(request: RegisterRequest): {
  claimedLabels: Record<string, string>;
  reports: DriverReport[];
} {
  return {
    claimedLabels: { ...request.labels },
    reports: request.reports.map(driverReportFromProto),
  };
}

export function statusReportFromProto(request: ReportStatusRequest): ExporterStatusReport {
  return {
    status: exporterStatusFromProto(request.status),
    ...(request.message === undefined ? {} : { message: request.message }),
    ...(request.releaseLease === undefined ? {} : { releaseLease: request.releaseLease }),
  };
}

export function auditFromProto(
  audit: AuditStreamRequest,
): Parameters<LeaseService["recordAudit"]>[1] {
  return {
    driverUuid: audit.driverInstanceUuid,
    severity: audit.severity,
    message: audit.message,
    ...(audit.leaseName === undefined ? {} : { leaseName: audit.leaseName }),
    ...(audit.fencingToken === undefined ? {} : { fencingToken: Number(audit.fencingToken) }),
    ...(audit.clientName === undefined ? {} : { client: audit.clientName }),
    ...(audit.method === undefined ? {} : { method: audit.method }),
    ...(audit.result === undefined ? {} : { result: audit.result }),
  };
}
