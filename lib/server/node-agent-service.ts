import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { invalidField } from "../errors/index.ts";
import type { NodeAgent } from "../gen/drover/node/v1/node_pb.ts";
import type { NodeFunctions } from "../node/index.ts";
import type { Clock } from "../time/index.ts";
import {
  commandResultToProto,
  commandRunFromProto,
  gpioCallFromProto,
  gpioResultToProto,
  logLineToProto,
  logQueryFromProto,
  nodeDescriptionToProto,
  nodeHealthToProto,
  systemMetricsToProto,
} from "../wire/node.ts";
import { principalOf } from "./operator-tenancy.ts";

/** The request metadata that names the agent: the seed's messages carry no agent id. */
export const agentIdHeader = "drover-agent-id";

const agentIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Who is asking and about which agent; refused before anything reaches an agent. */
function caller(context: HandlerContext) {
  const agentId = context.requestHeader.get(agentIdHeader)?.trim() ?? "";
  if (agentId === "")
    throw invalidField(agentIdHeader, `set the request metadata ${agentIdHeader} to an agent's id`);
  if (!agentIdPattern.test(agentId))
    throw invalidField(agentIdHeader, "must be an agent id (letters, digits, _ . -)");
  return { principal: principalOf(context), agentId };
}

/**
 * The Pi-Controller seed's NodeAgent on the operator bind: each method
 * forwards to the node functions, which authorize, rate-limit, audit and
 * carry the call over the agent's session.
 */
export function nodeAgentService(node: NodeFunctions, clock: Clock): ServiceImpl<typeof NodeAgent> {
  return {
    async getSystemMetrics(_request, context) {
      const { principal, agentId } = caller(context);
      return systemMetricsToProto(await node.systemMetrics(principal, agentId));
    },
    async healthCheck(_request, context) {
      const { principal, agentId } = caller(context);
      return nodeHealthToProto(await node.healthCheck(principal, agentId));
    },
    async describeNode(_request, context) {
      const { principal, agentId } = caller(context);
      return nodeDescriptionToProto(await node.describe(principal, agentId));
    },
    async executeCommand(request, context) {
      const { principal, agentId } = caller(context);
      const run = commandRunFromProto(request);
      return commandResultToProto(await node.executeCommand(principal, agentId, run));
    },
    async *streamLogs(request, context) {
      const { principal, agentId } = caller(context);
      const query = logQueryFromProto(request, clock.now());
      // context.signal aborts when the client cancels or goes away: the agent's stream ends with it.
      for await (const line of node.streamLogs(principal, agentId, query, context.signal)) {
        yield logLineToProto(line);
      }
    },
    async controlGPIO(request, context) {
      const { principal, agentId } = caller(context);
      // The seed's pin is forwarded as it is: the agent's own config says which line it is.
      return gpioResultToProto(
        await node.controlGpio(principal, agentId, gpioCallFromProto(request)),
      );
    },
  };
}
