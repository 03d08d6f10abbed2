import { type CallHandlers, handleStreaming, handleUnary } from "../../channel/index.ts";
import { DroverError } from "../../errors/index.ts";
import { nodeCalls } from "../../node/kinds.ts";
import type { AgentNodeConfig, SystemMetricsInfo } from "../../node/types.ts";
import type { Clock } from "../../time/index.ts";
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
} from "../../wire/node.ts";
import { runDeclaredCommand } from "./exec.ts";
import type { GpioController } from "./gpio.ts";
import { journaldAvailable, streamNodeLogs } from "./logs.ts";

export interface NodeHandlersOptions {
  /** What this machine declares: the only commands, log files and lines a call may touch. */
  config: AgentNodeConfig;
  gpio: GpioController;
  readMetrics: () => Promise<SystemMetricsInfo>;
  version: string;
  hostname: string;
  clock: Clock;
  /** Default `journalctl` on the minimal PATH. */
  journalctl?: string;
  /** Declared commands running at once; more are refused (default 4). */
  maxConcurrentCommands?: number;
}

/** Registers the node function call kinds (the Pi-Controller seed's NodeAgent) on the agent's session. */
export function registerNodeCalls(handlers: CallHandlers, options: NodeHandlersOptions): void {
  const { config, clock } = options;
  const startedAt = clock.now().getTime();
  const maxConcurrent = options.maxConcurrentCommands ?? 4;
  let running = 0;

  handleUnary(handlers, nodeCalls.systemMetrics, async () =>
    systemMetricsToProto(await options.readMetrics()),
  );

  handleUnary(handlers, nodeCalls.healthCheck, async () =>
    nodeHealthToProto({
      status: "OK",
      latencyMs: 0,
      version: options.version,
      uptimeSeconds: (clock.now().getTime() - startedAt) / 1000,
    }),
  );

  handleUnary(handlers, nodeCalls.describe, async () =>
    nodeDescriptionToProto({
      commands: Object.entries(config.commands).map(([name, command]) => ({ name, ...command })),
      logs: Object.keys(config.logs),
      gpio: Object.entries(config.gpio).map(([name, line]) => ({ name, ...line })),
      journald: await journaldAvailable(options.journalctl),
    }),
  );

  handleUnary(handlers, nodeCalls.executeCommand, async (request, signal) => {
    const run = commandRunFromProto(request);
    // Own keys only: a name like "constructor" must not reach the prototype.
    const declared = Object.hasOwn(config.commands, run.command)
      ? config.commands[run.command]
      : undefined;
    if (!declared) {
      throw new DroverError(
        "not_found",
        `no command named ${run.command} is declared in this agent's config file; declared: ${Object.keys(config.commands).join(", ") || "none"}`,
      );
    }
    if (running >= maxConcurrent)
      throw new DroverError(
        "resource_exhausted",
        `${maxConcurrent} commands are already running on this agent`,
      );
    running += 1;
    try {
      const result = await runDeclaredCommand(declared, run.args, {
        ...(run.timeoutMs === undefined ? {} : { timeoutMs: run.timeoutMs }),
        signal,
      });
      return commandResultToProto(result);
    } finally {
      running -= 1;
    }
  });

  handleStreaming(handlers, nodeCalls.streamLogs, async (request, send, signal) => {
    const query = logQueryFromProto(request, clock.now());
    const lines = streamNodeLogs(config, query, {
      signal,
      clock,
      hostname: options.hostname,
      ...(options.journalctl === undefined ? {} : { journalctl: options.journalctl }),
    });
    for await (const line of lines) await send(logLineToProto(line));
  });

  handleUnary(handlers, nodeCalls.controlGpio, async (request, signal) =>
    gpioResultToProto(await options.gpio.control(gpioCallFromProto(request, config.gpio), signal)),
  );
}
