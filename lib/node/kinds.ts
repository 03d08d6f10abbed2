import { defineCallKind } from "../channel/index.ts";
import {
  CommandRequestSchema,
  CommandResponseSchema,
  EmptySchema,
  GPIORequestSchema,
  GPIOResponseSchema,
  HealthStatusSchema,
  LogEntrySchema,
  LogFilterSchema,
  NodeDescriptionSchema,
  SystemMetricsSchema,
} from "../gen/drover/node/v1/node_pb.ts";

/** The node functions as call kinds on the agent's session, with the seed's messages. */
export const nodeCalls = {
  systemMetrics: defineCallKind("node.get_system_metrics", EmptySchema, SystemMetricsSchema),
  healthCheck: defineCallKind("node.health_check", EmptySchema, HealthStatusSchema),
  executeCommand: defineCallKind(
    "node.execute_command",
    CommandRequestSchema,
    CommandResponseSchema,
  ),
  streamLogs: defineCallKind("node.stream_logs", LogFilterSchema, LogEntrySchema),
  controlGpio: defineCallKind("node.control_gpio", GPIORequestSchema, GPIOResponseSchema),
  describe: defineCallKind("node.describe", EmptySchema, NodeDescriptionSchema),
} as const;
