import { operatorPrincipal } from "../lib/auth/index.ts";
import type { SessionHello } from "../lib/delivery/index.ts";
import { desiredStateForAgent, loadWorkspaceConfig } from "../lib/desired/index.ts";
import type { Manifest } from "../lib/drift/index.ts";
import type { FleetEvent } from "../lib/events/index.ts";
import type { SessionRequest } from "../lib/gen/drover/v1/session_pb.ts";
import type { DroverServer } from "../lib/server/index.ts";
import { createChannel } from "../lib/tasks/index.ts";
import {
  createOrganization,
  createUpstream,
  createVirtualHost,
  createWorkspace,
} from "../lib/tenancy/index.ts";
import {
  agentMessageToProto,
  serverMessageFromProto,
  sessionHelloToProto,
} from "../lib/wire/index.ts";
import { insertAgents, openDirectSessions, successFor } from "./config-fanout-direct.ts";
import { agentClient } from "./health-stream.ts";
import { registerAgents, type SummaryRow } from "./registration.ts";
import { fmtMs, fmtRatio, now, pause, percentile, printTable, within } from "./table.ts";

const fileRoot = "/srv/drover/files";
const admin = operatorPrincipal("bench");

/** Where the simulated agents run: real mTLS sockets, or sessions opened directly (config-fanout-direct.ts). */
export type FanoutAgents = "sockets" | "direct";
/** Socket agents cost the bench process two descriptors each (limit 20,000 here): above, direct. */
export const socketAgentsMax = 8_000;

/** Every simulated agent's hello: managed nginx, nothing held. */
const benchHello: SessionHello = {
  fileRoot,
  nginxMode: "managed",
  statusPort: 18080,
  nginxRuntime: {},
  nginxSupportsHttp3: false,
  nginxHttp2Directive: false,
  manifest: [],
  facts: { unresolvableNames: [], downServers: {} },
  staticRoots: [],
};

/**
 * One simulated agent: a real mTLS Session stream that holds files in
 * memory and reports SUCCESS for every delivery at once, so the figures are
 * the server's computing and sending, not nginx.
 */
function simulateAgent(
  server: DroverServer,
  identity: Awaited<ReturnType<typeof registerAgents>>[number],
  onDelivery: (version: string) => void,
  onFailure: (error: unknown) => void,
  signal: AbortSignal,
): Promise<void> {
  return (async () => {
    // Like a real agent: a session that fails opens again after a jittered, growing pause.
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        await runSession(server, identity, onDelivery, signal);
      } catch (error) {
        if (signal.aborted) return;
        onFailure(error);
      }
      await pause(Math.random() * Math.min(30_000, 500 * 2 ** attempt));
    }
  })();
}

/** One session: the hello, then SUCCESS for every delivery with what it holds then. */
async function runSession(
  server: DroverServer,
  identity: Awaited<ReturnType<typeof registerAgents>>[number],
  onDelivery: (version: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const held = new Map<string, Manifest[number]>();
  const outgoing = createChannel<SessionRequest>(signal);
  outgoing.push(sessionHelloToProto(benchHello));
  const client = agentClient(identity, server.endpoints.agent);
  for await (const response of client.session(outgoing, { signal })) {
    const message = serverMessageFromProto(response);
    if (message.kind !== "files") continue;
    const { delivery } = message;
    onDelivery(delivery.version);
    outgoing.push(agentMessageToProto(successFor(delivery, held)));
  }
}

/**
 * A configuration change (a virtual host for every agent of the workspace)
 * until each of `count` connected agents has received it and its SUCCESS is
 * recorded (config.applied). Baseline: computing the same desired states in
 * process, without sending anything.
 */
export async function benchConfigFanout(
  server: DroverServer,
  count: number,
  changes: number,
  agentsIn: FanoutAgents = count > socketAgentsMax ? "direct" : "sockets",
): Promise<SummaryRow[]> {
  const deps = server.fleet.deps;
  const org = await createOrganization(deps, admin, { name: "Bench", slug: "bench" });
  const workspace = await createWorkspace(deps, admin, org.id, { name: "Edge", slug: "edge" });
  const upstream = await createUpstream(deps, admin, workspace.id, {
    name: "app",
    algorithm: "round_robin",
    hashKey: null,
    servers: [
      {
        address: "127.0.0.1:9001",
        weight: 1,
        backup: false,
        down: false,
        maxFails: 1,
        failTimeout: 10,
      },
    ],
    keepalive: null,
    healthCheck: null,
  });
  const identities = agentsIn === "sockets" ? await registerAgents(server, count, 90_000) : [];
  for (const identity of identities) {
    await deps.store.agents.update(identity.id, { workspaceId: workspace.id }, deps.clock.now());
  }
  const agentIds =
    agentsIn === "sockets"
      ? identities.map((identity) => identity.id)
      : await insertAgents(server, workspace.id, count);

  const received = new Map<string, number[]>();
  // Per version, each agent's first config.applied: a reconnected agent applies again.
  const applied = new Map<string, Map<string, number>>();
  const unsubscribe = deps.events.subscribe((event: FleetEvent) => {
    if (event.type !== "config.applied") return;
    const data = event.data as { config_hash: string; success: boolean; agent_id: string };
    if (!data.success) return;
    const agents = applied.get(data.config_hash) ?? new Map<string, number>();
    if (!agents.has(data.agent_id)) agents.set(data.agent_id, now());
    applied.set(data.config_hash, agents);
  });
  const stop = new AbortController();
  const openStart = now();
  const failures = new Map<string, number>();
  // Pushed in place: copying the list per delivery made the bench itself quadratic.
  const onDelivery = (version: string) => {
    const times = received.get(version) ?? [];
    times.push(now());
    received.set(version, times);
  };
  const sessions =
    agentsIn === "sockets"
      ? identities.map((identity) =>
          simulateAgent(
            server,
            identity,
            onDelivery,
            (error) => {
              const reason = error instanceof Error ? error.message.slice(0, 80) : String(error);
              failures.set(reason, (failures.get(reason) ?? 0) + 1);
            },
            stop.signal,
          ),
        )
      : [openDirectSessions(server, agentIds, benchHello, onDelivery, stop.signal)];
  const rows: Array<[string, string, string, string, string]> = [];
  const latencies: { receive: number[]; applied: number[]; all: number[] } = {
    receive: [],
    applied: [],
    all: [],
  };
  try {
    // Everyone holds the first state before anything is timed.
    // 10,000 sessions opened one by one take longer than 90 s on a loaded machine.
    await waitForVersion(server, workspace.id, agentIds, applied, failures, 90_000 + count * 20);
    const openMs = now() - openStart;
    for (let change = 0; change < changes; change += 1) {
      const started = now();
      await createVirtualHost(deps, admin, workspace.id, {
        name: `site-${change}`,
        serverName: `site-${change}.bench.test`,
        listenPort: 8080,
        sslEnabled: false,
        sslCertificateId: null,
        http2Enabled: false,
        http3Enabled: false,
        locations: [{ path: "/", upstreamId: upstream.id, customHeaders: [], rewrites: [] }],
        targetAgents: { type: "all" },
      });
      const version = await waitForVersion(
        server,
        workspace.id,
        agentIds,
        applied,
        failures,
        60_000,
      );
      const receivedAt = received.get(version) ?? [];
      const appliedAt = [...(applied.get(version)?.values() ?? [])];
      latencies.receive.push(...receivedAt.map((t) => t - started));
      latencies.applied.push(...appliedAt.map((t) => t - started));
      latencies.all.push(Math.max(...appliedAt) - started);
      rows.push([
        `change ${change + 1}`,
        String(receivedAt.length),
        fmtMs(
          percentile(
            receivedAt.map((t) => t - started),
            50,
          ),
        ),
        fmtMs(
          percentile(
            appliedAt.map((t) => t - started),
            99,
          ),
        ),
        fmtMs(Math.max(...appliedAt) - started),
      ]);
    }
    rows.unshift(["sessions opened + first state applied", String(count), "", "", fmtMs(openMs)]);
  } finally {
    unsubscribe();
    stop.abort();
    await within(30_000, "closing the sessions", Promise.all(sessions));
  }

  // Baseline: the same computation the straightforward way, per agent, with no store writes and no network.
  const config = await loadWorkspaceConfig(deps.store, workspace.id);
  const agents = await Promise.all(agentIds.map((id) => deps.store.agents.get(id)));
  const baselineStart = now();
  for (const agent of agents) {
    if (!agent) continue;
    desiredStateForAgent({
      agent,
      ...config,
      options: { configRoot: fileRoot, statusPort: 18080, certificateMaterial: () => undefined },
    });
  }
  const computeMs = now() - baselineStart;
  const allP50 = percentile(latencies.all, 50);

  printTable({
    title:
      agentsIn === "sockets"
        ? `Config fan-out: a new virtual host to ${count} connected agents (real mTLS Session streams, simulated in the bench process)`
        : `Config fan-out: a new virtual host to ${count} agents simulated in the bench process WITHOUT sockets (sessions opened on the server's delivery directly; no TLS, no HTTP/2)`,
    headers: ["step", "agents", "received p50", "applied p99", "all applied"],
    rows,
    notes: [
      `Over ${changes} changes: received p50 ${fmtMs(percentile(latencies.receive, 50))}, p99 ${fmtMs(percentile(latencies.receive, 99))}; applied p50 ${fmtMs(percentile(latencies.applied, 50))}, p99 ${fmtMs(percentile(latencies.applied, 99))}.`,
      `Baseline: computing the ${count} desired states in process one by one, each compiled and hashed on its own (no compile memo: nothing shared; no store, no network): ${fmtMs(computeMs)}. The fan-out shares one state among agents with equal inputs.`,
      `Sessions that failed and were opened again (as real agents do): ${[...failures].map(([reason, n]) => `${n} × ${reason}`).join("; ") || "none"}.`,
    ],
  });
  return [
    {
      metric: `config change until all ${count} agents applied, p50 of ${changes}`,
      value: fmtMs(allP50),
      baseline: `compute ${count} desired states ${fmtMs(computeMs)}`,
      ratio: fmtRatio(allP50 / computeMs),
    },
    {
      metric: `config change → agent applied, p50 / p99 over ${count}×${changes}`,
      value: `${fmtMs(percentile(latencies.applied, 50))} / ${fmtMs(percentile(latencies.applied, 99))}`,
      baseline: "",
      ratio: "",
    },
  ];
}

/** The desired version once `count` config.applied events name it. */
async function waitForVersion(
  server: DroverServer,
  workspaceId: string,
  agentIds: readonly string[],
  applied: Map<string, Map<string, number>>,
  failures: Map<string, number>,
  budgetMs: number,
): Promise<string> {
  const deadline = now() + budgetMs;
  const { configStatus } = server.fleet.deps.store;
  while (now() < deadline) {
    await server.delivery.settled();
    const version = (await configStatus.get(agentIds[0] ?? ""))?.desiredVersion;
    if (version !== undefined && (applied.get(version)?.size ?? 0) >= agentIds.length) {
      return version;
    }
    await pause(5);
  }
  // What the stragglers' rows say, so a timeout points at its cause.
  const rows = await configStatus.getMany(agentIds);
  const tally = new Map<string, number>();
  for (const row of rows) {
    const key = `desired ${row.desiredVersion.slice(0, 8)} state ${row.state} on ${row.version.slice(0, 8)}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  const connected = agentIds.filter((id) => server.delivery.connected(id)).length;
  throw new Error(
    `not every agent of workspace ${workspaceId} applied the change within ${budgetMs} ms: ` +
      `${[...applied.values()].map((agents) => agents.size).join("/")} agents applied per version, ` +
      `${connected} of ${agentIds.length} connected, ${rows.length} status rows: ` +
      [...tally].map(([key, n]) => `${n} × ${key}`).join("; ") +
      `; session failures: ${[...failures].map(([reason, n]) => `${n} × ${reason}`).join("; ") || "none"}`,
  );
}
