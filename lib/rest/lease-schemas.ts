import { z } from "@hono/zod-openapi";
import { invalidField } from "../errors/index.ts";
import {
  type Exporter,
  exporterStatusNames,
  type LeaseExtension,
  type LeasePolicy,
  type LeaseRequest,
  type LeaseView,
} from "../lease/index.ts";
import { formatSelector, parseSelector, type Selector } from "../selector/index.ts";
import { formatDuration, parseDuration } from "../time/index.ts";
import { selectorToProto } from "../wire/lease.ts";
import { PageQuery } from "./schemas.ts";

/**
 * Exporters, leases and lease policies as REST writes and reads them: the
 * Jumpstarter seed's fields in snake_case, durations as text ("30m") parsed
 * by lib/time, selectors as lib/selector's text ("k=v,k2!=v").
 */

const labels = z.record(z.string(), z.string());
const time = z.string().openapi({ description: "RFC 3339", example: "2026-03-01T12:00:00.000Z" });
const optionalTime = time.nullable();

const DriverReportJson = z
  .object({
    uuid: z.string(),
    parent_uuid: z.string().nullable(),
    labels,
    description: z.string().nullable(),
    methods_description: z.record(z.string(), z.string()).openapi({
      description: "Method name → help text",
    }),
  })
  .openapi("DriverInstanceReport");

export const ExporterJson = z
  .object({
    id: z.string().openapi({ description: "The agent's id", example: "ag-3f9c2a71b0d4" }),
    uuid: z.string().openapi({ description: "The same id, as the seed names it" }),
    name: z.string(),
    workspace_id: z.string().nullable(),
    labels: labels.openapi({
      description: "The agent's operator-set labels: what lease selectors match",
    }),
    claimed_labels: labels.openapi({
      description: "The labels the exporter claimed at Register: shown, matched by no selector",
    }),
    online: z.boolean(),
    status: z.enum(exporterStatusNames),
    status_message: z.string(),
    status_version: z.number().int().openapi({
      description: "One more on every status change; never goes back",
    }),
    previous_status: z.enum(exporterStatusNames).nullable(),
    lease_name: z.string().nullable().openapi({ description: "The lease holding it" }),
    client: z.string().nullable().openapi({
      description: 'The holder of that lease ("user:<id>" or "operator:<serial>")',
    }),
    fencing_token: z.number().int().openapi({
      description: "The last fencing token granted on it; 0: never leased",
    }),
    offline_since: optionalTime.openapi({
      description: "While offline holding a lease: since when (the grace period runs from it)",
    }),
    reports: z.array(DriverReportJson),
  })
  .openapi("Exporter");

export function exporterJson(exporter: Exporter, client: string | undefined) {
  return {
    id: exporter.id,
    uuid: exporter.id,
    name: exporter.name,
    workspace_id: exporter.workspaceId,
    labels: exporter.labels,
    claimed_labels: exporter.claimedLabels,
    online: exporter.online,
    status: exporter.status,
    status_message: exporter.statusMessage,
    status_version: exporter.statusVersion,
    previous_status: exporter.previousStatus ?? null,
    lease_name: exporter.leaseName ?? null,
    client: exporter.leaseName === undefined ? null : (client ?? null),
    fencing_token: exporter.fencingToken,
    offline_since: exporter.offlineSince?.toISOString() ?? null,
    reports: exporter.reports.map((report) => ({
      uuid: report.uuid,
      parent_uuid: report.parentUuid ?? null,
      labels: report.labels,
      description: report.description ?? null,
      methods_description: report.methodsDescription,
    })),
  };
}

const leasePhases = ["Pending", "Ready", "Ended"] as const;

const LabelSelectorJson = z
  .object({
    match_labels: labels,
    match_expressions: z.array(
      z.object({
        key: z.string(),
        operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
        values: z.array(z.string()),
      }),
    ),
  })
  .openapi("LabelSelector", { description: "The same selector as the seed's LabelSelector" });

const ConditionJson = z.object({
  type: z.enum(["Pending", "Ready", "Unsatisfiable", "Invalid"]),
  status: z.enum(["True", "False", "Unknown"]),
  reason: z.string(),
  message: z.string(),
  last_transition_time: time,
});

export const LeaseJson = z
  .object({
    name: z.string().openapi({ example: "lease-0123456789abcdef" }),
    workspace_id: z.string(),
    client: z.string().openapi({ description: '"user:<id>" or "operator:<serial>"' }),
    selector: z
      .string()
      .openapi({ description: "The label selector as text", example: "board=rpi4" }),
    label_selector: LabelSelectorJson,
    duration: z.number().openapi({ description: "Seconds the lease lasts once granted" }),
    duration_text: z.string().openapi({ example: "30m" }),
    priority: z.number().int(),
    phase: z.enum(leasePhases),
    reason: z.string().openapi({
      description:
        "Pending: Offline, NotAvailable, NotReady or Scheduled; Ready: Ready; Ended: Released, Expired, ExporterOffline, ForceReleased, ClientRemoved, ExporterRemoved, NoMatch, NoAccess or DurationExceedsPolicy",
    }),
    message: z.string(),
    exporter_id: z.string().nullable(),
    exporter_uuid: z
      .string()
      .nullable()
      .openapi({ description: "The same id, as the seed names it" }),
    fencing_token: z.number().int().nullable().openapi({
      description: "Set at grant; strictly increasing per exporter, never reused",
    }),
    requested_at: time,
    begin_time: optionalTime.openapi({
      description: "When it was granted; a pending window request: when it may begin",
    }),
    end_time: optionalTime.openapi({ description: "When it ends unless extended" }),
    ended_at: optionalTime,
    queue_position: z.number().int().nullable().openapi({
      description: "Pending: 1-based place among the workspace's waiting leases, in service order",
    }),
    conditions: z.array(ConditionJson),
  })
  .openapi("Lease");

function labelSelectorJson(selector: Selector) {
  const proto = selectorToProto(selector);
  return {
    match_labels: proto.matchLabels ?? {},
    match_expressions: (proto.matchExpressions ?? []).map((expression) => ({
      key: expression.key ?? "",
      operator: expression.operator as "In" | "NotIn" | "Exists" | "DoesNotExist",
      values: [...(expression.values ?? [])],
    })),
  };
}

export function leaseJson(lease: LeaseView) {
  return {
    name: lease.name,
    workspace_id: lease.workspaceId,
    client: lease.client,
    selector: formatSelector(lease.selector),
    label_selector: labelSelectorJson(lease.selector),
    duration: lease.durationMs / 1000,
    duration_text: formatDuration(lease.durationMs),
    priority: lease.priority,
    phase: lease.phase,
    reason: lease.reason,
    message: lease.message,
    exporter_id: lease.exporterId ?? null,
    exporter_uuid: lease.exporterId ?? null,
    fencing_token: lease.fencingToken ?? null,
    requested_at: lease.requestedAt.toISOString(),
    begin_time: (lease.beginTime ?? lease.notBefore)?.toISOString() ?? null,
    end_time: lease.endTime?.toISOString() ?? null,
    ended_at: lease.endedAt?.toISOString() ?? null,
    queue_position: lease.queuePosition ?? null,
    conditions: lease.conditions.map((condition) => ({
      type: condition.type,
      status: condition.status,
      reason: condition.reason,
      message: condition.message,
      last_transition_time: condition.lastTransitionTime.toISOString(),
    })),
  };
}

const durationText = (example: string, description: string) =>
  z.string().min(1).max(32).openapi({ example, description });

const requestTime = z.iso.datetime({ offset: true }).openapi({ description: "RFC 3339" });

export const LeaseRequestBody = z.strictObject({
  selector: z.string().max(4096).openapi({
    description:
      "Which exporters may serve it, by their labels: `k=v`, `k!=v`, `k` (present), `!k` (absent), comma-separated, all must hold",
    example: "board=rpi4,relay=yes",
  }),
  duration: durationText("30m", "How long once granted: 90s, 30m, 2h, 1d").optional(),
  begin_time: requestTime.optional().openapi({ description: "A window: not granted before this" }),
  end_time: requestTime.optional().openapi({
    description: "A window's end (required with begin_time); a duration beside it must agree",
  }),
  priority: z.number().int().optional().openapi({
    description:
      "Higher is served first; at most what the caller's lease policy allows (default 0)",
  }),
});

export const LeaseListQuery = PageQuery.extend({
  phase: z.enum(leasePhases).optional().openapi({
    description: "Only leases in this phase (Ended: all of them, not only the recent ones)",
  }),
});

export const LeaseExtendBody = z.strictObject({
  by: durationText("15m", "Added to the current end").optional(),
  from_now: durationText(
    "30m",
    "The new end is now + this; never earlier than the current end",
  ).optional(),
});

export const LeaseReleaseBody = z.strictObject({
  expected_client: z.string().min(1).max(200).optional().openapi({
    description:
      "An admin releasing another's lease names the holder they expect (`client` of the lease); a mismatch changes nothing",
    example: "user:usr-0123456789ab",
  }),
});

function durationField(field: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw invalidField(field, `"${text}" is not a duration such as 90s, 30m, 2h or 1d`);
  }
  return ms;
}

/** A selector's text as terms; a bad term names the field. */
function selectorField(field: string, text: string): Selector {
  try {
    return parseSelector(text);
  } catch (error) {
    throw invalidField(field, error instanceof Error ? error.message : String(error));
  }
}

export function leaseRequestOf(
  workspaceId: string,
  body: z.infer<typeof LeaseRequestBody>,
): LeaseRequest {
  return {
    workspaceId,
    selector: selectorField("selector", body.selector),
    ...(body.duration === undefined
      ? {}
      : { durationMs: durationField("duration", body.duration) }),
    ...(body.begin_time === undefined ? {} : { beginTime: new Date(body.begin_time) }),
    ...(body.end_time === undefined ? {} : { endTime: new Date(body.end_time) }),
    ...(body.priority === undefined ? {} : { priority: body.priority }),
  };
}

export function leaseExtensionOf(body: z.infer<typeof LeaseExtendBody>): LeaseExtension {
  if ((body.by === undefined) === (body.from_now === undefined)) {
    throw invalidField("by", "give exactly one of by and from_now");
  }
  return body.by !== undefined
    ? { byMs: durationField("by", body.by) }
    : { fromNowMs: durationField("from_now", body.from_now as string) };
}

const PolicyJson = z.strictObject({
  name: z.string().openapi({ example: "bench-users" }),
  principals: z.array(z.string()).openapi({
    description:
      '"*" (any member), "role:viewer|admin|owner" (that role or above), "user:<id>" or "operator:<serial>"',
    example: ["role:viewer"],
  }),
  exporter_selector: z.string().max(4096).openapi({
    description: "The exporters it covers, by their labels; empty: all",
    example: "board=rpi4",
  }),
  max_duration: durationText("2h", "The longest lease it allows, extensions included"),
  max_priority: z
    .number()
    .int()
    .openapi({ description: "The highest priority a request may ask for" }),
});

export const LeasePolicies = z
  .strictObject({ policies: z.array(PolicyJson) })
  .openapi("LeasePolicies", {
    description:
      "Who may lease which exporters of the workspace. Without stored policies, the default: admins and owners, any exporter, 24h, priority 0",
  });

export function policiesJson(policies: readonly LeasePolicy[]) {
  return {
    policies: policies.map((policy) => ({
      name: policy.name,
      principals: [...policy.principals],
      exporter_selector: formatSelector(policy.exporterSelector),
      max_duration: formatDuration(policy.maxDurationMs),
      max_priority: policy.maxPriority,
    })),
  };
}

export function policiesOf(body: z.infer<typeof LeasePolicies>): LeasePolicy[] {
  return body.policies.map((policy, index) => ({
    name: policy.name,
    principals: policy.principals,
    exporterSelector: selectorField(
      `policies.${index}.exporter_selector`,
      policy.exporter_selector,
    ),
    maxDurationMs: durationField(`policies.${index}.max_duration`, policy.max_duration),
    maxPriority: policy.max_priority,
  }));
}
