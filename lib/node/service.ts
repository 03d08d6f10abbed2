import type { Principal } from "../auth/index.ts";
import { type AgentChannels, callStreaming, callUnary } from "../channel/index.ts";
import { DroverError } from "../errors/index.ts";
import { type NodeActor, noChanges } from "../events/index.ts";
import { agentPayload, type Fleet } from "../fleet/index.ts";
import type { AgentRow } from "../store/index.ts";
import { authorizeAgent, getAgentFor } from "../tenancy/index.ts";
import { createTokenBucket } from "../time/index.ts";
import {
  commandResultFromProto,
  commandRunToProto,
  gpioCallToProto,
  gpioResultFromProto,
  logLineFromProto,
  logQueryToProto,
  nodeDescriptionFromProto,
  nodeHealthFromProto,
  systemMetricsFromProto,
} from "../wire/node.ts";
import { nodeCalls } from "./kinds.ts";
import type {
  CommandResult,
  CommandRun,
  GpioCall,
  GpioResult,
  LogQuery,
  NodeDescription,
  NodeHealth,
  NodeLogLine,
  SystemMetricsInfo,
} from "./types.ts";

export interface NodeFunctionsOptions {
  fleet: Fleet;
  channels: AgentChannels;
  /** Per agent: a burst of this many ExecuteCommand / ControlGPIO calls, refilled at a tenth of it per second. Default 20. */
  callBurst?: number;
  /** Deadline of the unary calls (metrics, health, describe, GPIO); default 15 s. Commands get their own timeout plus 5 s. */
  deadlineMs?: number;
}

/**
 * The Pi-Controller seed's NodeAgent for operators: every call is authorized
 * here (reads need to see the agent; commands and setting GPIO need write access),
 * travels to the agent over its session, and commands and GPIO are audited
 * as events whatever their outcome. What may run is the agent's to declare.
 */
export interface NodeFunctions {
  systemMetrics(principal: Principal, agentId: string): Promise<SystemMetricsInfo>;
  healthCheck(principal: Principal, agentId: string): Promise<NodeHealth>;
  describe(principal: Principal, agentId: string): Promise<NodeDescription>;
  executeCommand(principal: Principal, agentId: string, run: CommandRun): Promise<CommandResult>;
  /** Ends when the agent's stream ends, the signal aborts or the consumer stops reading. */
  streamLogs(
    principal: Principal,
    agentId: string,
    query: LogQuery,
    signal: AbortSignal,
  ): AsyncGenerator<NodeLogLine>;
  controlGpio(principal: Principal, agentId: string, call: GpioCall): Promise<GpioResult>;
}

const actorOf = (principal: Principal): NodeActor => ({ kind: principal.kind, id: principal.id });
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Runs `work` and records how it went, whether it succeeded or not; its outcome stands. */
async function audited<T>(
  work: () => Promise<T>,
  record: (result: T | undefined, error?: unknown) => Promise<unknown>,
): Promise<T> {
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await record(undefined, error);
    throw error;
  }
  await record(result);
  return result;
}

export function createNodeFunctions(options: NodeFunctionsOptions): NodeFunctions {
  const { fleet, channels } = options;
  const { clock, events } = fleet.deps;
  const deadlineMs = options.deadlineMs ?? 15_000;
  const burst = options.callBurst ?? 20;
  const buckets = new Map<string, ReturnType<typeof createTokenBucket>>();

  async function agentFor(
    principal: Principal,
    agentId: string,
    write: boolean,
  ): Promise<AgentRow> {
    const agent = await getAgentFor(fleet, principal, agentId);
    await authorizeAgent(fleet, principal, agent, write);
    return agent;
  }

  /** Commands and GPIO share one bucket per agent, kept across reconnects. */
  function takeToken(agentId: string): void {
    let bucket = buckets.get(agentId);
    if (!bucket) {
      bucket = createTokenBucket({ burst, perSecond: burst / 10, clock });
      buckets.set(agentId, bucket);
    }
    if (!bucket.take())
      throw new DroverError(
        "resource_exhausted",
        `too many commands and GPIO calls for agent ${agentId}; wait a few seconds`,
      );
  }

  return {
    async systemMetrics(principal, agentId) {
      await agentFor(principal, agentId, false);
      const metrics = await callUnary(
        channels.require(agentId),
        nodeCalls.systemMetrics,
        {},
        { deadlineMs },
      );
      return systemMetricsFromProto(metrics);
    },

    async healthCheck(principal, agentId) {
      await agentFor(principal, agentId, false);
      const started = performance.now();
      const status = await callUnary(
        channels.require(agentId),
        nodeCalls.healthCheck,
        {},
        { deadlineMs },
      );
      return { ...nodeHealthFromProto(status), latencyMs: performance.now() - started };
    },

    async describe(principal, agentId) {
      await agentFor(principal, agentId, false);
      const description = await callUnary(
        channels.require(agentId),
        nodeCalls.describe,
        {},
        { deadlineMs },
      );
      return nodeDescriptionFromProto(description);
    },

    async executeCommand(principal, agentId, run) {
      const agent = await agentFor(principal, agentId, true);
      takeToken(agentId);
      const started = clock.now().getTime();
      return audited(
        // The agent enforces the declared timeout (at most 1 h); the call waits a little longer.
        async () =>
          commandResultFromProto(
            await callUnary(
              channels.require(agentId),
              nodeCalls.executeCommand,
              commandRunToProto(run),
              {
                deadlineMs: (run.timeoutMs ?? 3_600_000) + 5_000,
              },
            ),
          ),
        (result, error) =>
          events.publish({
            type: "node.command_executed",
            subjectId: agentId,
            data: {
              ...agentPayload(agent),
              command: run.command,
              args: run.args,
              exit_code: result?.exitCode ?? null,
              timed_out: result?.timedOut ?? false,
              duration_ms: result?.durationMs ?? clock.now().getTime() - started,
              actor: actorOf(principal),
              ...(error === undefined ? {} : { error: messageOf(error) }),
            },
            changes: noChanges,
          }),
      );
    },

    async *streamLogs(principal, agentId, query, signal) {
      await agentFor(principal, agentId, false);
      for await (const entry of callStreaming(
        channels.require(agentId),
        nodeCalls.streamLogs,
        logQueryToProto(query),
        {
          signal,
        },
      )) {
        yield logLineFromProto(entry);
      }
    },

    async controlGpio(principal, agentId, call) {
      // Reading a line is a read; setting or pulsing it changes the machine.
      const agent = await agentFor(principal, agentId, call.action !== "get");
      takeToken(agentId);
      const started = clock.now().getTime();
      return audited(
        async () =>
          gpioResultFromProto(
            await callUnary(
              channels.require(agentId),
              nodeCalls.controlGpio,
              gpioCallToProto(call),
              {
                deadlineMs: deadlineMs + (call.durationMs ?? 0),
              },
            ),
          ),
        (result, error) =>
          events.publish({
            type: "node.gpio_controlled",
            subjectId: agentId,
            data: {
              ...agentPayload(agent),
              line: result?.line ?? (call.line || `pin ${call.pin ?? 0}`),
              action: call.action,
              level: result?.level ?? null,
              duration_ms: clock.now().getTime() - started,
              actor: actorOf(principal),
              ...(error === undefined ? {} : { error: messageOf(error) }),
            },
            changes: noChanges,
          }),
      );
    },
  };
}
