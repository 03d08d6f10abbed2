import { mkdtempSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { type AgentOptions, createAgent, type DroverAgent } from "../../lib/agent/index.ts";
import { ROOT_NGINX_TEMP_PARENT } from "../../lib/agent/nginx/index.ts";
import { operatorClientFromDataDir } from "../../lib/client/index.ts";
import type { OperatorService } from "../../lib/gen/drover/v1/operator_pb.ts";
import { RegistrationService } from "../../lib/gen/drover/v1/registration_pb.ts";
import {
  type DroverServer,
  type DroverServerOptions,
  startDroverServer,
} from "../../lib/server/index.ts";
import type { Clock } from "../../lib/time/index.ts";
import { grpcTransport } from "../../lib/transport/index.ts";
import { type WaitOptions, waitFor } from "./loopback.ts";

/** A clock the test moves by hand. */
export function manualClock(start = Date.now()): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => new Date(now), advance: (ms) => (now += ms) };
}

export interface InProcessFleet {
  dir: string;
  server: DroverServer;
  operator: Client<typeof OperatorService>;
  registration: Client<typeof RegistrationService>;
  /**
   * Stops the server, runs `whileStopped` on its data dir (to age it, say),
   * and starts it again there on the same addresses; `server` is the new one.
   */
  restart(whileStopped?: (dataDir: string) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

/** A real server on loopback ports in this process, with its admin client. */
export async function startInProcessFleet(
  options: {
    clock?: Clock;
    heartbeatIntervalMs?: number;
    certificateLifetimeMs?: number;
    rateLimitPerMinute?: number;
    acme?: DroverServerOptions["acme"];
    accessTokenTtlMs?: number;
    logger?: DroverServerOptions["logger"];
    listenerLimits?: DroverServerOptions["listenerLimits"];
    oldestAgentProtocol?: number;
  } = {},
): Promise<InProcessFleet> {
  const dir = mkdtempSync(join(tmpdir(), "drover-test-"));
  const dataDir = join(dir, "server");
  const server = await startDroverServer({
    dataDir,
    registrationAddress: "127.0.0.1:0",
    agentAddress: "127.0.0.1:0",
    operatorAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    ...options,
  });
  const operator = await operatorClientFromDataDir(join(dir, "server"));
  const registration = createClient(
    RegistrationService,
    grpcTransport(server.endpoints.registration, {
      caPem: server.fleet.deps.authority.ca.certificatePem,
    }),
  );
  const fleet: InProcessFleet = {
    dir,
    server,
    operator,
    registration,
    async restart(whileStopped) {
      const { endpoints } = fleet.server;
      await fleet.server.stop();
      await whileStopped?.(dataDir);
      fleet.server = await startDroverServer({
        ...options,
        dataDir,
        registrationAddress: endpoints.registration,
        agentAddress: endpoints.agent,
        operatorAddress: endpoints.operator,
        httpAddress: endpoints.http,
      });
    },
    async stop() {
      await fleet.server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fleet;
}

export interface InProcessAgent {
  agent: DroverAgent;
  /** Its id, once its session with the server is open. */
  id: string;
  /** Stops the agent, and the nginx it runs in managed mode (which would outlive it). */
  stop(): Promise<void>;
}

/**
 * An agent in this process, joined to `fleet` and connected: resolves once its
 * session is open (waiting as `wait` says).
 */
export async function startInProcessAgent(
  fleet: InProcessFleet,
  options: Omit<AgentOptions, "server">,
  wait: WaitOptions = {},
): Promise<InProcessAgent> {
  const controller = new AbortController();
  const agent = createAgent({ server: fleet.server.endpoints.registration, ...options });
  const running = agent.run(controller.signal);
  // A deleted or revoked agent ends its run refused; tests that do that expect it.
  running.catch(() => {});
  const id = await waitFor(
    "the agent's session",
    () => {
      const joined = agent.identity()?.id;
      return joined !== undefined && fleet.server.delivery.connected(joined) ? joined : undefined;
    },
    wait,
  );
  return {
    agent,
    id,
    async stop() {
      controller.abort();
      await running.catch(() => {});
      await agent.nginx?.stop(2000);
      // A root agent's nginx temp dir is outside its data dir (/var/cache/drover/nginx-…): not to be left behind.
      const tempDir = agent.nginx?.runtime.tempDir;
      if (tempDir?.startsWith(`${ROOT_NGINX_TEMP_PARENT}/`))
        await rm(tempDir, { recursive: true, force: true });
    },
  };
}
