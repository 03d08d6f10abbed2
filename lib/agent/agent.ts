import { mkdir } from "node:fs/promises";
import { DroverError, isDroverError } from "../errors/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import { sleep } from "../tasks/index.ts";
import { type Clock, systemClock } from "../time/index.ts";
import { droverVersion } from "../version.ts";
import { type BackoffPolicy, backoffDelay, defaultBackoff } from "./backoff.ts";
import { runHealthStream } from "./health-stream.ts";
import { type AgentIdentity, loadAgentIdentity, saveAgentIdentity } from "./identity-files.ts";
import { joinFleet } from "./join.ts";
import { renewalWaitMs, renewIdentity } from "./renewal.ts";
import { createHealthSampler } from "./system-health.ts";

export interface AgentOptions {
  dataDir: string;
  /** Registration HOST:PORT; needed only to join. */
  server?: string;
  /** Join token; needed only when the data dir holds no identity yet. */
  token?: string;
  hostname: string;
  ip?: string;
  name?: string;
  labels?: Record<string, string>;
  capabilities?: string[];
  version?: string;
  backoff?: BackoffPolicy;
  clock?: Clock;
  logger?: Logger;
}

export interface DroverAgent {
  /** The identity in use, once joined. */
  identity(): AgentIdentity | undefined;
  /** Runs until the signal aborts; rejects when the fleet refuses this agent for good. */
  run(signal: AbortSignal): Promise<void>;
}

export function createAgent(options: AgentOptions): DroverAgent {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const backoff = options.backoff ?? defaultBackoff;
  const version = options.version ?? droverVersion;
  let current: AgentIdentity | undefined;

  async function obtainIdentity(): Promise<AgentIdentity> {
    const saved = await loadAgentIdentity(options.dataDir);
    if (saved) {
      if (options.token)
        logger.info("data dir already holds an identity; the token is not used", { id: saved.id });
      return saved;
    }
    if (!options.server || !options.token) {
      throw new DroverError(
        "failed_precondition",
        `no identity in ${options.dataDir}: pass --server HOST:PORT and --token TOKEN to join the fleet`,
      );
    }
    logger.info("joining the fleet", { server: options.server });
    const joined = await joinFleet({
      registrationAddress: options.server,
      token: options.token,
      name: options.name ?? "",
      hostname: options.hostname,
      ip: options.ip ?? "",
      version,
      capabilities: options.capabilities ?? [],
      labels: options.labels ?? {},
    });
    await saveAgentIdentity(options.dataDir, joined);
    logger.info("joined", { id: joined.id, fleet: joined.fleetId });
    return joined;
  }

  async function keepRenewed(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted && current) {
      await sleep(renewalWaitMs(current.certificatePem, clock), signal);
      if (signal.aborted) return;
      try {
        current = await renewIdentity(current);
        await saveAgentIdentity(options.dataDir, current);
        attempt = 0;
        logger.info("certificate renewed", { id: current.id });
      } catch (error) {
        if (isDroverError(error) && error.code === "invalid_argument") throw error;
        const delay = backoffDelay(backoff, attempt++);
        logger.warn("certificate renewal failed; retrying", {
          error: String(error),
          retryInMs: delay,
        });
        await sleep(delay, signal);
      }
    }
  }

  return {
    identity: () => current,
    async run(signal) {
      await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
      current = await obtainIdentity();
      const sampleHealth = createHealthSampler({ diskPath: options.dataDir, version });
      // Either loop failing for good stops the other.
      const stop = new AbortController();
      const both = AbortSignal.any([signal, stop.signal]);
      const guard = <T>(work: Promise<T>) =>
        work.catch((error: unknown) => {
          stop.abort();
          throw error;
        });
      await Promise.all([
        guard(
          runHealthStream(
            {
              identity: () => current as AgentIdentity,
              sampleHealth,
              backoff,
              onConnected: () => logger.info("connected", { server: current?.agentAddress }),
              onDisconnected: (error, retryInMs) =>
                logger.warn("disconnected; reconnecting", { error: error.rawMessage, retryInMs }),
            },
            both,
          ),
        ),
        guard(keepRenewed(both)),
      ]);
    },
  };
}
