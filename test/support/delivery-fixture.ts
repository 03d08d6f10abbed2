import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentNginxOptions, AgentOptions, DroverAgent } from "../../lib/agent/index.ts";
import type { FleetEvent } from "../../lib/events/index.ts";
import { type AdminRest, adminRest } from "./admin-rest.ts";
import {
  type InProcessAgent,
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "./in-process.ts";
import { freePort, type WaitOptions, waitFor } from "./loopback.ts";

export type Json = Record<string, unknown>;

/** The states an agent ends a delivery in. */
const FINAL_STATES = ["success", "failed", "rolled_back"];

export interface DeliveryFixtureOptions {
  /** The workspace's name and slug; the agent is `${name}-1`, the temp directory drover-${name}-…. */
  name: string;
  /**
   * How the agent runs nginx; default: managed, on loopback. A function is
   * called with the temp directory first (to lay out a system nginx there).
   */
  nginx?: AgentNginxOptions | ((dir: string) => AgentNginxOptions | Promise<AgentNginxOptions>);
  /** Added to (or overriding) the fleet's high rate limit and 500 ms heartbeats. */
  fleet?: Parameters<typeof startInProcessFleet>[0];
  /** More of the agent's options (its static roots, its deployment mode). */
  agent?: Pick<AgentOptions, "staticRoots" | "deploymentMode">;
  /** How long to wait for the agent's session and for `settled`; default: waitFor's. */
  patience?: WaitOptions;
}

/**
 * An in-process fleet with one agent joined to a fresh workspace, the first
 * admin's REST session on it, and every fleet event recorded.
 */
export interface DeliveryFixture extends AdminRest {
  fleet: InProcessFleet;
  /** A temp directory of the test's own; the agent's data directory is `dir`/agent. */
  dir: string;
  /** Every event the fleet has published, in order. */
  events: FleetEvent[];
  agent: DroverAgent;
  agentId: string;
  /**
   * Waits until the server has nothing in flight and the agent reports a final
   * state (success, failed, rolled_back) on the version the server wants, and
   * `probe` (if given) accepts it; returns GET /v1/agents/{id}/config.
   */
  settled(probe?: (status: Json) => boolean): Promise<Json>;
  /**
   * Creates an upstream on `backend` (host:port) and a virtual host `name`.test
   * proxying / to it on a free port, waits until the agent applied them, and
   * returns that port.
   */
  proxy(name: string, backend: string): Promise<number>;
  /** Stops the agent (and its nginx), then the fleet, and removes `dir`. */
  stop(): Promise<void>;
}

/** Starts a fleet, an admin session in a new workspace and an agent joined to it, connected. */
export async function startDeliveryFixture(
  options: DeliveryFixtureOptions,
): Promise<DeliveryFixture> {
  const { name, patience = {} } = options;
  const dir = mkdtempSync(join(tmpdir(), `drover-${name}-`));
  const events: FleetEvent[] = [];
  let fleet: InProcessFleet | undefined;
  let agent: InProcessAgent | undefined;
  const stop = async () => {
    await agent?.stop();
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nginx =
      typeof options.nginx === "function"
        ? await options.nginx(dir)
        : (options.nginx ?? {
            mode: "managed",
            statusPort: await freePort(),
            listenAddress: "127.0.0.1",
          });
    const started = await startInProcessFleet({
      rateLimitPerMinute: 1_000_000,
      heartbeatIntervalMs: 500,
      ...options.fleet,
    });
    fleet = started;
    started.server.fleet.deps.events.subscribe((event) => events.push(event));
    const admin = await adminRest(started, { organization: "lab", workspace: name });
    const { rest, ok, workspaceId } = admin;
    const joinToken = await ok(
      rest("POST", `/v1/workspaces/${workspaceId}/agents/tokens`, {}),
      201,
    );
    agent = await startInProcessAgent(
      started,
      {
        dataDir: join(dir, "agent"),
        token: joinToken.token as string,
        hostname: `${name}-1`,
        nginx,
        driftIntervalMs: 200,
        ...options.agent,
      },
      patience,
    );
    const agentId = agent.id;
    const settled = (probe: (status: Json) => boolean = () => true) =>
      waitFor(
        "the agent to settle",
        async () => {
          await started.server.delivery.settled();
          const status = await ok(rest("GET", `/v1/agents/${agentId}/config`));
          const final = FINAL_STATES.includes(status.state as string);
          return final && status.version === status.desired_version && probe(status)
            ? status
            : undefined;
        },
        patience,
      );
    const proxy = async (host: string, backend: string) => {
      const port = await freePort();
      const upstream = await ok(
        rest("POST", `/v1/workspaces/${workspaceId}/upstreams`, {
          name: host,
          servers: [{ address: backend }],
        }),
        201,
      );
      await ok(
        rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
          name: host,
          server_name: `${host}.test`,
          listen_port: port,
          locations: [{ path: "/", upstream_id: upstream.id }],
        }),
        201,
      );
      const status = await settled();
      if (status.state !== "success") throw new Error(`the proxy was not applied: ${status.state}`);
      return port;
    };
    return {
      ...admin,
      fleet: started,
      dir,
      events,
      agent: agent.agent,
      agentId,
      settled,
      proxy,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
