import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { type AgentOptions, createAgent, type DroverAgent } from "../../lib/agent/index.ts";
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
  } = {},
): Promise<InProcessFleet> {
  const dir = mkdtempSync(join(tmpdir(), "drover-test-"));
  const server = await startDroverServer({
    dataDir: join(dir, "server"),
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
  return {
    dir,
    server,
    operator,
    registration,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
    },
  };
}
