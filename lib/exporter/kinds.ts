import { EmptySchema } from "@bufbuild/protobuf/wkt";
import { defineCallKind } from "../channel/index.ts";
import { RouterFrameSchema } from "../gen/drover/v1/exporter_pb.ts";
import {
  AuditStreamRequestSchema,
  RegisterRequestSchema,
  RegisterResponseSchema,
  ReportStatusRequestSchema,
  ReportStatusResponseSchema,
  StatusResponseSchema,
} from "../gen/jumpstarter/v1/jumpstarter_pb.ts";
import { StreamResponseSchema } from "../gen/jumpstarter/v1/router_pb.ts";

/**
 * An exporter's traffic on its agent session, as call kinds carrying the
 * Jumpstarter seed's messages: what a seed exporter sends ControllerService
 * over gRPC, a Drover agent sends here, on the one connection it already has.
 */
export const exporterCalls = {
  /** Agent → server, at every session start: its drivers and claimed labels. */
  register: defineCallKind("exporter.register", RegisterRequestSchema, RegisterResponseSchema),
  /** Agent → server: a status change; release_lease ends its lease (after the afterLease hook). */
  reportStatus: defineCallKind(
    "exporter.report_status",
    ReportStatusRequestSchema,
    ReportStatusResponseSchema,
  ),
  /** Agent → server: one driver call or lease step, for the audit trail. */
  audit: defineCallKind("exporter.audit", AuditStreamRequestSchema, EmptySchema),
  /** Server → agent: the exporter's lease changed (granted, extended, ended). */
  leaseStatus: defineCallKind("exporter.lease_status", StatusResponseSchema, EmptySchema),
  /**
   * Server → agent: one router stream. The first frame is `open` (lease and
   * fencing token); then `data` frames both ways carry the client's HTTP/2
   * connection to the exporter's ExporterService.
   */
  router: defineCallKind("exporter.router", RouterFrameSchema, StreamResponseSchema),
} as const;
