import {
  type CallChannel,
  type CallHandlers,
  callUnary,
  createCallChannel,
  oldestSessionProtocol,
  refuseOlderPeer,
  sessionProtocol,
  welcomeCall,
} from "../channel/index.ts";
import type { AgentMessage } from "../delivery/index.ts";
import { DroverError } from "../errors/index.ts";
import type { AgentHealth } from "../fleet/index.ts";
import type { SessionRequest } from "../gen/drover/v1/session_pb.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import { createChannel, sleep } from "../tasks/index.ts";
import { systemTimers, type Timers } from "../time/index.ts";
import { agentMessageToProto, serverMessageFromProto, sessionHelloToProto } from "../wire/index.ts";
import type { ConfigSession } from "./config-session.ts";
import { type ConnectionOptions, keepConnected } from "./connection.ts";

export interface AgentSessionOptions extends ConnectionOptions {
  config: ConfigSession;
  /** A fresh health report, sent every heartbeat. */
  sampleHealth: () => Promise<AgentHealth>;
  /** The call kinds this agent answers (nginx commands, node functions, …). */
  handlers: CallHandlers;
  /** This agent's version, told to the server when a session opens. */
  version: string;
  /** The oldest server protocol it serves (default: this build's); tests raise it. */
  oldestServerProtocol?: number;
  /** Each session the server welcomed, with its calls (the exporter registers on it). */
  onSessionOpen?: (calls: CallChannel, signal: AbortSignal) => void;
  timers?: Timers;
  logger?: Logger;
}

/**
 * The agent's one connection to the server: a single Session stream, kept
 * open with backoff, carrying the hello, heartbeats (the server counts the
 * agent online exactly while this stream is open), configuration, telemetry
 * and calls in both directions.
 */
export interface AgentSession {
  /** Keeps the session open until the signal aborts; rejects when the fleet refuses the agent for good. */
  run(signal: AbortSignal): Promise<void>;
  /** Sends a message on the open session; unavailable while disconnected, so the caller keeps it and retries. */
  send(message: AgentMessage): void;
  /** Calls to the server on the open session, if one is open. */
  calls(): CallChannel | undefined;
}

export function createAgentSession(options: AgentSessionOptions): AgentSession {
  const logger = options.logger ?? silentLogger;
  const timers = options.timers ?? systemTimers;
  let outgoing: ((message: AgentMessage) => void) | undefined;
  let current: CallChannel | undefined;

  async function heartbeat(send: (message: AgentMessage) => void, signal: AbortSignal) {
    const interval = options.identity().heartbeatIntervalMs;
    while (!signal.aborted) {
      try {
        send({ kind: "health", health: await options.sampleHealth() });
      } catch (error) {
        logger.warn("health sample failed", { error: String(error) });
      }
      await sleep(interval, signal);
    }
  }

  const run = (signal: AbortSignal) =>
    keepConnected(options, signal, async (client, connected) => {
      const connection = new AbortController();
      const both = AbortSignal.any([signal, connection.signal]);
      const stream = createChannel<SessionRequest>(both);
      const send = (message: AgentMessage) => stream.push(agentMessageToProto(message));
      const calls = createCallChannel({
        side: "agent",
        send: (frame) => send({ kind: "call", frame }),
        handlers: options.handlers,
        timers,
        peer: "the server",
      });
      stream.push(
        sessionHelloToProto(await options.config.hello(), {
          protocol: sessionProtocol,
          agentVersion: options.version,
        }),
      );
      outgoing = send;
      current = calls;
      const config = options.config.connect(send, both);
      const beating = heartbeat(send, both);
      // The server's answer is the session's acceptance, even when no delivery follows.
      callUnary(calls, welcomeCall, { agentVersion: options.version }, { deadlineMs: 30_000 }).then(
        (welcome) => {
          const refused = refuseOlderPeer(
            {
              side: "agent",
              version: options.version,
              oldest: options.oldestServerProtocol ?? oldestSessionProtocol,
            },
            { version: welcome.serverVersion, protocol: welcome.protocol },
          );
          if (refused === undefined) {
            options.onSessionOpen?.(calls, both);
            return connected();
          }
          logger.error(refused.message);
          connection.abort();
        },
        (error: unknown) => {
          if (!both.aborted)
            logger.warn("the server did not welcome the session", { error: String(error) });
        },
      );
      try {
        for await (const response of client.session(stream, { signal })) {
          connected();
          const message = serverMessageFromProto(response);
          if (message.kind === "call") calls.receive(message.frame);
          else config.receive(message);
        }
      } finally {
        connection.abort();
        if (outgoing === send) outgoing = undefined;
        if (current === calls) current = undefined;
        calls.close(new DroverError("unavailable", "the session to the server ended"));
        stream.close();
        await config.close();
        await beating;
      }
    });

  return {
    run,
    send(message) {
      if (!outgoing) throw new DroverError("unavailable", "not connected to the server");
      outgoing(message);
    },
    calls: () => current,
  };
}
