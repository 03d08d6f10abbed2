import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { create } from "@bufbuild/protobuf";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { tempStoreDir } from "../../test/support/store.ts";
import { newAgent, t0 } from "../../test/support/store-data.ts";
import {
  type AgentChannels,
  type CallChannel,
  createAgentChannels,
  createCallChannel,
  createCallHandlers,
  handleUnary,
} from "../channel/index.ts";
import type { CertificateMaterial } from "../desired/index.ts";
import { configHash, type Manifest, manifestHash, manifestOf } from "../drift/index.ts";
import { DroverError, isDroverError } from "../errors/index.ts";
import {
  type Changes,
  createEventBus,
  type EventBus,
  type FleetEvent,
  noChanges,
  type PublishInput,
} from "../events/index.ts";
import { type ConfigApplyState, SessionRequestSchema } from "../gen/drover/v1/session_pb.ts";
import {
  createCertificateRequest,
  createFleetCA,
  type FleetCA,
  generateKeyPair,
  issueServerCertificate,
  verifyCertificateRequest,
} from "../pki/index.ts";
import { openBunSqlite } from "../store/driver-bun.ts";
import { createStore } from "../store/store.ts";
import type { NewUpstream, NewVirtualHost, Store } from "../store/types.ts";
import { type Clock, systemTimers } from "../time/index.ts";
import {
  agentMessageFromProto,
  commandResultToProto,
  nginxCommandFromProto,
} from "../wire/index.ts";
import {
  type AgentSession,
  type CommandOutcome,
  type ConfigDelivery,
  type ConfigStatusReport,
  createConfigDelivery,
  type FileDelivery,
  type NginxCommand,
  nginxCommandCall,
  type ServerMessage,
  type SessionHello,
} from "./index.ts";

const { freshPath } = tempStoreDir("drover-delivery-");

let store: Store;
let bus: EventBus;
let delivery: ConfigDelivery;
let channels: AgentChannels;
let events: FleetEvent[];
let now = t0.getTime();
const clock: Clock = { now: () => new Date(now) };

const pem = (id: string): CertificateMaterial => ({ certificatePem: `C ${id}`, keyPem: `K ${id}` });

beforeEach(async () => {
  store = await createStore(await openBunSqlite(freshPath()));
  const org = { name: "Org", createdAt: t0, updatedAt: t0 };
  await store.organizations.insert({ ...org, id: "o1", slug: "o1" });
  for (const id of ["w1", "w2"]) {
    await store.workspaces.insert({ ...org, id, organizationId: "o1", slug: id });
  }
  await store.agents.insert({ ...newAgent("a1", { env: "prod" }), workspaceId: "w1" });
  await store.agents.insert({ ...newAgent("a2", { env: "prod" }), workspaceId: "w1" });
  await store.agents.insert({ ...newAgent("b1", { env: "prod" }), workspaceId: "w2" });
  await store.agents.insert(newAgent("u0"));
  bus = createEventBus({ store, clock });
  events = [];
  bus.subscribe((event) => events.push(event));
  channels = createAgentChannels();
  delivery = createConfigDelivery({
    store,
    events: bus,
    clock,
    channels,
    certificateMaterial: pem,
    commandTimeoutMs: 5_000,
  });
});

afterEach(async () => {
  await delivery.settled();
  delivery.stop();
  await store.close();
});

const hello = (extra: Partial<SessionHello> = {}): SessionHello => ({
  fileRoot: "/srv/drover",
  nginxMode: "managed",
  statusPort: 18081,
  nginxRuntime: {},
  nginxSupportsHttp3: false,
  nginxHttp2Directive: false,
  manifest: [],
  facts: { unresolvableNames: [], downServers: {} },
  staticRoots: [],
  ...extra,
});

/** An agent's end of a session: what the server sent it, and what it holds. */
interface Connection {
  session: AgentSession;
  sent: ServerMessage[];
  manifest: Manifest;
}

async function connect(agentId: string, extra: Partial<SessionHello> = {}): Promise<Connection> {
  // Changes made before the agent connects are done with before it does.
  await delivery.settled();
  const sent: ServerMessage[] = [];
  const first = hello(extra);
  const session = await delivery.open(agentId, first, (message) => sent.push(message));
  return { session, sent, manifest: first.manifest };
}

const deliveries = (c: Connection): FileDelivery[] =>
  c.sent.flatMap((m) => (m.kind === "files" ? [m.delivery] : []));

function lastDelivery(c: Connection): FileDelivery {
  const last = deliveries(c).at(-1);
  if (!last) throw new Error("nothing was delivered");
  return last;
}

/** What an agent holding `manifest` holds after applying `files`. */
function holding(manifest: Manifest, files: FileDelivery): Manifest {
  const held = new Map(manifest.map((entry) => [entry.path, entry]));
  for (const path of files.remove) held.delete(path);
  for (const entry of manifestOf(files.write)) held.set(entry.path, entry);
  return [...held.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
}

function statusOf(
  version: string,
  state: ConfigStatusReport["state"],
  manifest: Manifest,
  extra: Partial<ConfigStatusReport> = {},
): ConfigStatusReport {
  return { version, state, steps: [], errors: [], refused: [], durationMs: 7, manifest, ...extra };
}

/** The agent applies the last delivery and reports success. */
async function succeed(c: Connection): Promise<FileDelivery> {
  const files = lastDelivery(c);
  c.manifest = holding(c.manifest, files);
  await c.session.receive({
    kind: "status",
    status: statusOf(files.version, "success", c.manifest),
  });
  return files;
}

/** The agent fails the last delivery; it still holds what it held. */
async function fail(
  c: Connection,
  state: "failed" | "rolled_back" = "failed",
  errors = ["nginx: [emerg] unknown directive"],
): Promise<FileDelivery> {
  const files = lastDelivery(c);
  await c.session.receive({
    kind: "status",
    status: statusOf(files.version, state, c.manifest, {
      errors,
      refused: [{ path: "certs/x.pem", reason: "is a directory" }],
    }),
  });
  return files;
}

function nginxConf(files: FileDelivery): string {
  const file = files.write.find((f) => f.path === "nginx/nginx.conf");
  if (!file) throw new Error("the delivery does not write nginx.conf");
  return typeof file.content === "string" ? file.content : new TextDecoder().decode(file.content);
}

const workspaceOf = { w1: "w1", w2: "w2" } as const;

/** Creates an upstream as tenancy does: the row, then its event. */
async function createUpstream(
  id: string,
  workspaceId: keyof typeof workspaceOf,
  extra: Partial<NewUpstream> = {},
): Promise<void> {
  const row: NewUpstream = {
    id,
    workspaceId,
    name: `upstream-${id}`,
    algorithm: "round_robin",
    hashKey: null,
    servers: [
      {
        address: "10.0.0.5:80",
        weight: 1,
        backup: false,
        down: false,
        maxFails: 1,
        failTimeout: 10,
      },
      {
        address: "10.0.0.6:80",
        weight: 1,
        backup: false,
        down: false,
        maxFails: 1,
        failTimeout: 10,
      },
    ],
    keepalive: null,
    healthCheck: null,
    createdAt: clock.now(),
    updatedAt: clock.now(),
    ...extra,
  };
  await store.upstreams.insert(row);
  await bus.publish({
    type: "upstream.created",
    subjectId: id,
    data: { upstream_id: id, name: row.name, workspace_id: workspaceId, organization_id: "o1" },
    changes: { workspaces: [workspaceId] },
  });
}

/** Creates a virtual host as tenancy does: the row, then its event. */
async function createHost(
  id: string,
  workspaceId: keyof typeof workspaceOf,
  extra: Partial<NewVirtualHost> = {},
): Promise<void> {
  now += 1;
  const row: NewVirtualHost = {
    id,
    workspaceId,
    name: `vhost-${id}`,
    serverName: `${id}.example.com`,
    listenPort: 8080,
    sslEnabled: false,
    sslCertificateId: null,
    http2Enabled: false,
    http3Enabled: false,
    locations: [{ path: "/", proxyPass: "http://127.0.0.1:9000", customHeaders: [], rewrites: [] }],
    targetAgents: { type: "all" },
    createdAt: clock.now(),
    updatedAt: clock.now(),
    ...extra,
  };
  await store.virtualHosts.insert(row);
  await bus.publish({
    type: "virtual_host.created",
    subjectId: id,
    data: { virtual_host_id: id, name: row.name, workspace_id: workspaceId, organization_id: "o1" },
    changes: { workspaces: [workspaceId] },
  });
}

/** An agent.updated as tenancy writes it, stating what changed. */
function agentUpdated(agentId: string, changes: Changes): PublishInput {
  const data = { agent_id: agentId, workspace_id: null, hostname: agentId, ip_address: "" };
  return {
    type: "agent.updated",
    subjectId: agentId,
    data: { ...data, name: agentId, labels: {} },
    changes,
  };
}

async function deleteHost(id: string, workspaceId: keyof typeof workspaceOf): Promise<void> {
  expect(await store.virtualHosts.delete(id)).toBe(true);
  await bus.publish({
    type: "virtual_host.deleted",
    subjectId: id,
    data: {
      virtual_host_id: id,
      name: `vhost-${id}`,
      workspace_id: workspaceId,
      organization_id: "o1",
    },
    changes: { workspaces: [workspaceId] },
  });
}

const configEvents = () => events.filter((e) => e.type.startsWith("config."));

describe("createConfigDelivery", () => {
  describe("open", () => {
    test("an empty manifest gets every desired file, versioned by the desired hash", async () => {
      await createUpstream("u1", "w1", {
        healthCheck: {
          enabled: true,
          path: "/health",
          interval: 15,
          timeout: 3,
          healthyThreshold: 4,
          unhealthyThreshold: 6,
        },
      });
      await createHost("v1", "w1", {
        locations: [{ path: "/", upstreamId: "u1", customHeaders: [], rewrites: [] }],
      });
      await delivery.settled();
      expect(delivery.connected("a1")).toBe(false);

      const a1 = await connect("a1");
      expect(delivery.connected("a1")).toBe(true);
      expect(a1.sent).toHaveLength(1);
      const files = lastDelivery(a1);
      expect(files.write.map((f) => f.path)).toEqual(["nginx/nginx.conf"]);
      expect(files.remove).toEqual([]);
      expect(files.version).toBe(configHash(files.write));
      expect(nginxConf(files)).toContain("server_name v1.example.com;");
      expect(files.healthChecks).toEqual([
        {
          upstreamId: "u1",
          addresses: ["10.0.0.5:80", "10.0.0.6:80"],
          path: "/health",
          intervalSeconds: 15,
          timeoutSeconds: 3,
          // The upstream's thresholds reach the agent's checker.
          healthyThreshold: 4,
          unhealthyThreshold: 6,
        },
      ]);
      expect(await store.configStatus.get("a1")).toMatchObject({
        desiredVersion: files.version,
        state: "pending",
        appliedVersion: null,
        hosts: [{ id: "v1", status: "applied" }],
      });
    });

    test("certificate files are delivered with the host that uses them", async () => {
      await store.tlsCertificates.insert({
        id: "c1",
        workspaceId: "w1",
        domain: "v1.example.com",
        isWildcard: false,
        provider: "letsencrypt",
        status: "active",
        autoRenew: false,
        createdAt: t0,
        updatedAt: t0,
      });
      await createHost("v1", "w1", { sslEnabled: true, sslCertificateId: "c1", listenPort: 8443 });
      const a1 = await connect("a1");
      const files = lastDelivery(a1);
      expect(files.write.map((f) => [f.path, f.mode, f.secret === true])).toEqual([
        ["certs/c1.key", 0o600, true],
        ["certs/c1.pem", 0o644, false],
        ["nginx/nginx.conf", 0o644, false],
      ]);
      expect(nginxConf(files)).toContain("ssl_certificate /srv/drover/certs/c1.pem;");
    });

    test("after a success, a reconnect holding those files gets none again and stays applied", async () => {
      await createHost("v1", "w1");
      const first = await connect("a1");
      const files = await succeed(first);
      expect(await store.configStatus.get("a1")).toMatchObject({
        desiredVersion: files.version,
        state: "success",
        appliedVersion: files.version,
        appliedAt: clock.now(),
        durationMs: 7,
      });
      expect(configEvents()).toEqual([
        expect.objectContaining({
          type: "config.applied",
          subjectId: "a1",
          data: {
            agent_id: "a1",
            workspace_id: "w1",
            config_id: files.version,
            version: 1,
            config_hash: files.version,
            success: true,
            state: "success",
            duration_ms: 7,
          },
        }),
      ]);
      first.session.close();
      expect(delivery.connected("a1")).toBe(false);

      const again = await connect("a1", { manifest: first.manifest });
      // Only the checks go out again; no file is re-sent.
      for (const message of again.sent) {
        expect(message).toMatchObject({
          kind: "files",
          delivery: { version: files.version, write: [], remove: [] },
        });
      }
      expect(await store.configStatus.get("a1")).toMatchObject({
        desiredVersion: files.version,
        state: "success",
        appliedVersion: files.version,
      });
    });

    test("a reconnect holding stale files gets the difference: changed files written, stale ones removed", async () => {
      await createHost("v1", "w1");
      const stale: Manifest = [
        { path: "certs/gone.pem", sha256: "a".repeat(64), mode: 0o644 },
        { path: "nginx/nginx.conf", sha256: "b".repeat(64), mode: 0o644 },
      ];
      const a1 = await connect("a1", { manifest: stale });
      const files = lastDelivery(a1);
      expect(files.write.map((f) => f.path)).toEqual(["nginx/nginx.conf"]);
      expect(files.remove).toEqual(["certs/gone.pem"]);
      expect(manifestHash(holding(stale, files))).toBe(files.version);
    });

    test("when the desired state comes back to what the agent holds, nothing is sent and success is recorded", async () => {
      await createHost("v1", "w1");
      const a1 = await connect("a1");
      const held = await succeed(a1);
      await createHost("v2", "w1");
      await delivery.settled();
      expect(deliveries(a1)).toHaveLength(2);
      await fail(a1);
      expect((await store.configStatus.get("a1"))?.state).toBe("failed");

      await deleteHost("v2", "w1");
      await delivery.settled();
      expect(deliveries(a1)).toHaveLength(2);
      expect(await store.configStatus.get("a1")).toMatchObject({
        desiredVersion: held.version,
        version: held.version,
        state: "success",
        appliedVersion: held.version,
        hosts: [{ id: "v1", status: "applied" }],
      });
    });

    test("a second session of the same agent replaces the first", async () => {
      const first = await connect("a1");
      const pending = delivery.command("a1", { kind: "reload" });
      const second = await connect("a1");
      const error = await expectDroverRejection(pending);
      expect(error.code).toBe("unavailable");
      // The old session is deaf: its status changes nothing, its close does not disconnect.
      const before = await store.configStatus.get("a1");
      await first.session.receive({
        kind: "status",
        status: statusOf(lastDelivery(first).version, "success", []),
      });
      expect(await store.configStatus.get("a1")).toEqual(before);
      first.session.close();
      expect(delivery.connected("a1")).toBe(true);
      await succeed(second);
      expect((await store.configStatus.get("a1"))?.state).toBe("success");
    });

    test("an agent without nginx can open a session and is sent no nginx files", async () => {
      await createHost("v1", "w1");
      const held: Manifest = [{ path: "nginx/nginx.conf", sha256: "b".repeat(64), mode: 0o644 }];
      const a1 = await connect("a1", { nginxMode: "off", statusPort: 0, manifest: held });
      expect(delivery.connected("a1")).toBe(true);
      const files = lastDelivery(a1);
      expect(files.write).toEqual([]);
      expect(files.remove).toEqual(["nginx/nginx.conf"]);
      expect(files.version).toBe(manifestHash([]));
      expect(await store.configStatus.get("a1")).toMatchObject({
        desiredVersion: manifestHash([]),
        hosts: [],
      });
    });

    test("a session whose desired state cannot be computed is not left open", async () => {
      const error = await expectDroverRejection(
        delivery.open("a1", hello({ fileRoot: "relative/root" }), () => {}),
      );
      expect(error.code).toBe("invalid_argument");
      expect(delivery.connected("a1")).toBe(false);
      expect((await expectDroverRejection(delivery.command("a1", { kind: "reload" }))).code).toBe(
        "unavailable",
      );
    });
  });

  describe("changes", () => {
    test("a change in a workspace reaches only the sessions of that workspace", async () => {
      const a1 = await connect("a1");
      const a2 = await connect("a2");
      const b1 = await connect("b1");
      const u0 = await connect("u0");
      for (const c of [a1, a2, b1, u0]) await succeed(c);
      const b1Status = await store.configStatus.get("b1");
      // Written without its event: b1 would pick it up only if it were recomputed.
      await store.virtualHosts.insert({
        id: "x0",
        workspaceId: "w2",
        name: "vhost-x0",
        serverName: "x0.example.com",
        listenPort: 8081,
        sslEnabled: false,
        sslCertificateId: null,
        http2Enabled: false,
        http3Enabled: false,
        locations: [],
        targetAgents: { type: "all" },
        createdAt: t0,
        updatedAt: t0,
      });

      await createUpstream("u1", "w1");
      await createHost("v1", "w1", {
        locations: [{ path: "/", upstreamId: "u1", customHeaders: [], rewrites: [] }],
      });
      await delivery.settled();
      for (const c of [a1, a2]) {
        expect(deliveries(c)).toHaveLength(2);
        expect(nginxConf(lastDelivery(c))).toContain("server_name v1.example.com;");
      }
      expect(lastDelivery(a1).version).toBe(lastDelivery(a2).version);
      expect(deliveries(b1)).toHaveLength(1);
      expect(deliveries(u0)).toHaveLength(1);
      expect(await store.configStatus.get("b1")).toEqual(b1Status);

      for (const c of [a1, a2]) await succeed(c);
      await createHost("x1", "w2");
      await delivery.settled();
      expect(deliveries(b1)).toHaveLength(2);
      expect(nginxConf(lastDelivery(b1))).toContain("server_name x1.example.com;");
      expect(nginxConf(lastDelivery(b1))).toContain("server_name x0.example.com;");
      expect(nginxConf(lastDelivery(b1))).not.toContain("v1.example.com");
      expect(deliveries(a1)).toHaveLength(2);
      expect(deliveries(a2)).toHaveLength(2);
    });

    test("events that state no change, or only agents not connected, move nothing", async () => {
      const a1 = await connect("a1");
      await succeed(a1);
      await createHost("v1", "w1");
      await delivery.settled();
      await succeed(a1);
      const count = a1.sent.length;
      // A row written without its event: only a recompute would find it.
      await store.virtualHosts.update("v1", { serverName: "quiet.example.com" }, clock.now());
      const hostData = {
        virtual_host_id: "v1",
        name: "vhost-v1",
        workspace_id: "w1",
        organization_id: "o1",
      };
      // The name says configuration, but the event states no change: the name is not read.
      await bus.publish({
        type: "virtual_host.updated",
        subjectId: "v1",
        data: hostData,
        changes: noChanges,
      });
      await bus.publish(agentUpdated("a2", { agents: ["a2"] }));
      await delivery.settled();
      expect(a1.sent).toHaveLength(count);
      await bus.publish({
        type: "virtual_host.updated",
        subjectId: "v1",
        data: hostData,
        changes: { workspaces: ["w1"] },
      });
      await delivery.settled();
      expect(a1.sent).toHaveLength(count + 1);
      expect(nginxConf(lastDelivery(a1))).toContain("server_name quiet.example.com;");
    });

    test("an agent's own update reaches that agent alone", async () => {
      await createHost("staging", "w1", {
        targetAgents: { type: "selector", labelSelector: "env=staging" },
      });
      const a1 = await connect("a1");
      const a2 = await connect("a2");
      for (const c of [a1, a2]) await succeed(c);
      expect(nginxConf(deliveries(a1)[0] as FileDelivery)).not.toContain("staging.example.com");

      // a2 changes too, but without its event: it must not be recomputed.
      await store.agents.update("a2", { labels: { env: "staging" } }, clock.now());
      await store.agents.update("a1", { labels: { env: "staging" } }, clock.now());
      await bus.publish(agentUpdated("a1", { agents: ["a1"] }));
      await delivery.settled();
      expect(deliveries(a1)).toHaveLength(2);
      expect(nginxConf(lastDelivery(a1))).toContain("server_name staging.example.com;");
      expect(deliveries(a2)).toHaveLength(1);
      await succeed(a1);

      // Moved to another workspace: it follows that workspace from now on.
      await store.agents.update("a1", { workspaceId: "w2" }, clock.now());
      await bus.publish(agentUpdated("a1", { agents: ["a1"] }));
      await delivery.settled();
      expect(nginxConf(lastDelivery(a1))).not.toContain("staging.example.com");
      await succeed(a1);
      const count = deliveries(a1).length;
      await createHost("v1", "w1");
      await delivery.settled();
      expect(deliveries(a1)).toHaveLength(count);
      await createHost("x1", "w2");
      await delivery.settled();
      expect(deliveries(a1)).toHaveLength(count + 1);
      expect(nginxConf(lastDelivery(a1))).toContain("server_name x1.example.com;");
    });

    test("changes while a delivery is in flight wait for its final status, then go out as one", async () => {
      const a1 = await connect("a1");
      const first = lastDelivery(a1);
      await createUpstream("u1", "w1");
      await delivery.settled();
      await createHost("v1", "w1");
      await delivery.settled();
      await createHost("v2", "w1", {
        locations: [{ path: "/", upstreamId: "u1", customHeaders: [], rewrites: [] }],
      });
      await delivery.settled();
      expect(a1.sent).toHaveLength(1);
      // Progress is not final: still in flight.
      await a1.session.receive({
        kind: "status",
        status: statusOf(first.version, "applying", []),
      });
      expect(a1.sent).toHaveLength(1);
      expect((await store.configStatus.get("a1"))?.state).toBe("applying");

      await succeed(a1);
      expect(a1.sent).toHaveLength(2);
      const next = lastDelivery(a1);
      expect(nginxConf(next)).toContain("server_name v1.example.com;");
      expect(nginxConf(next)).toContain("server_name v2.example.com;");
      expect(manifestHash(holding(a1.manifest, next))).toBe(next.version);
      expect((await store.configStatus.get("a1"))?.desiredVersion).toBe(next.version);

      // One in flight again: a change now waits for this one.
      await createHost("v3", "w1");
      await delivery.settled();
      expect(a1.sent).toHaveLength(2);
      await succeed(a1);
      expect(a1.sent).toHaveLength(3);
      expect(nginxConf(lastDelivery(a1))).toContain("server_name v3.example.com;");
      await succeed(a1);
      await delivery.settled();
      expect(a1.sent).toHaveLength(3);
      expect((await store.configStatus.get("a1"))?.state).toBe("success");
    });

    test("a burst of changes goes out as one delivery at a time and ends in the latest state", async () => {
      const a1 = await connect("a1");
      await succeed(a1);
      // Published back to back, without waiting for delivery in between.
      await Promise.all([
        createHost("v1", "w1"),
        createHost("v2", "w1", { listenPort: 8081 }),
        createHost("v3", "w1", { listenPort: 8082 }),
      ]);
      await delivery.settled();
      expect(deliveries(a1)).toHaveLength(2);
      for (let round = 0; round < 5; round++) {
        const count = deliveries(a1).length;
        await succeed(a1);
        await delivery.settled();
        if (deliveries(a1).length === count) break;
        expect(deliveries(a1)).toHaveLength(count + 1);
      }
      // Three changes, at most three deliveries after the first; the last agent state has them all.
      expect(deliveries(a1).length).toBeLessThanOrEqual(4);
      const row = await store.configStatus.get("a1");
      expect(row).toMatchObject({ state: "success", appliedVersion: row?.desiredVersion });
      expect(row?.hosts.map((h) => h.id)).toEqual(["v1", "v2", "v3"]);
      expect(manifestHash(a1.manifest)).toBe(row?.desiredVersion as string);
    });
  });

  describe("failures", () => {
    test("a failed version publishes config.failed, is not resent on an unrelated change, but is on drift", async () => {
      const a1 = await connect("a1");
      const good = await succeed(a1);
      await createHost("v1", "w1");
      await delivery.settled();
      const bad = await fail(a1, "failed", ["nginx: [emerg] boom"]);
      expect(bad.version).not.toBe(good.version);
      const failure = {
        agent_id: "a1",
        workspace_id: "w1",
        config_id: bad.version,
        version: 2,
        config_hash: bad.version,
        success: false,
        state: "failed",
        duration_ms: 7,
        errors: ["nginx: [emerg] boom"],
        refused: ["certs/x.pem: is a directory"],
      };
      // The seed's config.applied with success false, then Drover's config.failed.
      expect(configEvents().slice(-2)).toEqual([
        expect.objectContaining({ type: "config.applied", subjectId: "a1", data: failure }),
        expect.objectContaining({ type: "config.failed", subjectId: "a1", data: failure }),
      ]);
      expect(await store.configStatus.get("a1")).toMatchObject({
        desiredVersion: bad.version,
        version: bad.version,
        state: "failed",
        errors: ["nginx: [emerg] boom"],
        appliedVersion: good.version,
      });

      // A change that moves nothing for this agent: the failed version is not sent again.
      await createHost("elsewhere", "w1", {
        targetAgents: { type: "selector", labelSelector: "env=staging" },
      });
      await delivery.settled();
      expect(deliveries(a1)).toHaveLength(2);

      // The agent reports drift: it asks, so it gets it again.
      await a1.session.receive({
        kind: "drift",
        manifest: a1.manifest,
        drifted: ["nginx/nginx.conf"],
      });
      expect(deliveries(a1)).toHaveLength(3);
      expect(lastDelivery(a1).version).toBe(bad.version);
      await fail(a1, "rolled_back", ["nginx: [emerg] bind() failed"]);
      expect(configEvents().at(-1)).toMatchObject({
        type: "config.failed",
        data: {
          config_hash: bad.version,
          version: 2,
          success: false,
          state: "rolled_back",
          errors: ["nginx: [emerg] bind() failed"],
        },
      });
      expect((await store.configStatus.get("a1"))?.state).toBe("rolled_back");

      // A real change makes a new version, which is sent.
      await deleteHost("v1", "w1");
      await createHost("v2", "w1");
      await delivery.settled();
      expect(deliveries(a1)).toHaveLength(4);
      expect(lastDelivery(a1).version).not.toBe(bad.version);
      await succeed(a1);
      expect(configEvents().at(-1)).toMatchObject({
        type: "config.applied",
        data: { version: 3, success: true },
      });
    });

    test("drift repairs a hand-edited file even when the version is unchanged", async () => {
      await createHost("v1", "w1");
      const a1 = await connect("a1");
      const files = await succeed(a1);
      const edited = a1.manifest.map((e) => ({ ...e, sha256: "c".repeat(64) }));
      await a1.session.receive({ kind: "drift", manifest: edited, drifted: ["nginx/nginx.conf"] });
      const repair = lastDelivery(a1);
      expect(repair.version).toBe(files.version);
      expect(repair.write.map((f) => f.path)).toEqual(["nginx/nginx.conf"]);
    });

    test("facts naming an unresolvable name give a version with the host using it set aside", async () => {
      await createHost("v1", "w1", {
        locations: [
          { path: "/", proxyPass: "http://app.internal:9000", customHeaders: [], rewrites: [] },
        ],
      });
      await createHost("v2", "w1", { listenPort: 8081 });
      const a1 = await connect("a1");
      const first = lastDelivery(a1);
      expect(first.checkNames).toEqual(["app.internal"]);
      expect(nginxConf(first)).toContain("app.internal");

      // As the agent does: facts while the delivery is in flight, then its failure.
      await a1.session.receive({
        kind: "facts",
        facts: { unresolvableNames: ["app.internal"], downServers: {} },
      });
      expect(deliveries(a1)).toHaveLength(1);
      await fail(a1, "failed", ["names do not resolve on this machine: app.internal"]);
      expect(deliveries(a1)).toHaveLength(2);
      const next = lastDelivery(a1);
      expect(next.version).not.toBe(first.version);
      expect(nginxConf(next)).not.toContain("app.internal");
      expect(nginxConf(next)).toContain("server_name v2.example.com;");
      const row = await store.configStatus.get("a1");
      expect(row?.desiredVersion).toBe(next.version);
      expect(row?.hosts).toEqual([
        {
          id: "v1",
          status: "set_aside",
          reason: expect.stringContaining("app.internal"),
          field: expect.any(String),
        },
        { id: "v2", status: "applied" },
      ]);
      await succeed(a1);

      // The name resolves again: the host comes back.
      await a1.session.receive({
        kind: "facts",
        facts: { unresolvableNames: [], downServers: {} },
      });
      expect(deliveries(a1)).toHaveLength(3);
      expect(lastDelivery(a1).version).toBe(first.version);
    });

    test("facts marking a server down give a version with the server down", async () => {
      await createUpstream("u1", "w1");
      await createHost("v1", "w1", {
        locations: [{ path: "/", upstreamId: "u1", customHeaders: [], rewrites: [] }],
      });
      const a1 = await connect("a1");
      await succeed(a1);
      await a1.session.receive({
        kind: "facts",
        facts: { unresolvableNames: [], downServers: { u1: ["10.0.0.6:80"] } },
      });
      expect(deliveries(a1)).toHaveLength(2);
      expect(nginxConf(lastDelivery(a1))).toContain("server 10.0.0.6:80 down;");
      expect(nginxConf(lastDelivery(a1))).toContain("server 10.0.0.5:80;");
    });

    test("a status with a bad state is rejected, by the wire and by the store, changing nothing", async () => {
      const a1 = await connect("a1");
      const files = lastDelivery(a1);
      let wireError: unknown;
      try {
        agentMessageFromProto(
          create(SessionRequestSchema, {
            payload: {
              case: "configStatus",
              value: { version: files.version, state: 42 as ConfigApplyState },
            },
          }),
        );
      } catch (error) {
        wireError = error;
      }
      expect(isDroverError(wireError) && wireError.details[0]?.field).toBe("config_status.state");

      const before = await store.configStatus.get("a1");
      const bad = statusOf(files.version, "done" as ConfigStatusReport["state"], []);
      const error = await expectDroverRejection(
        a1.session.receive({ kind: "status", status: bad }),
      );
      expect(error.code).toBe("invalid_argument");
      expect(await store.configStatus.get("a1")).toEqual(before);
      expect(configEvents()).toEqual([]);
      // The delivery is still in flight: the real status is taken.
      await succeed(a1);
      expect((await store.configStatus.get("a1"))?.state).toBe("success");
    });
  });

  describe("commands", () => {
    /** Joins a1's session to an agent end answering nginx.command with `answer`. */
    function agentAnswering(agentId: string, answer: (command: NginxCommand) => CommandOutcome) {
      const handlers = createCallHandlers();
      const received: NginxCommand[] = [];
      handleUnary(handlers, nginxCommandCall, async (request) => {
        const command = nginxCommandFromProto(request);
        received.push(command);
        return commandResultToProto(answer(command));
      });
      let server: CallChannel;
      const agent = createCallChannel({
        side: "agent",
        send: (frame) => queueMicrotask(() => server.receive(frame)),
        handlers,
        timers: systemTimers,
        peer: "the server",
      });
      server = createCallChannel({
        side: "server",
        send: (frame) => queueMicrotask(() => agent.receive(frame)),
        handlers: createCallHandlers(),
        timers: systemTimers,
        peer: `agent ${agentId}`,
      });
      const detach = channels.attach(agentId, server);
      return { received, detach, server };
    }

    test("a command travels as an nginx.command call and resolves with the agent's result", async () => {
      await connect("a1");
      const result = {
        ok: true,
        errors: [],
        status: {
          running: true,
          pid: 42,
          configVersion: "sha256:x",
          uptimeSeconds: 0,
          activeConnections: 0,
          requestsTotal: 0,
          requestsPerSecond: 0,
        },
      };
      const agent = agentAnswering("a1", () => result);
      expect(
        await delivery.command("a1", { kind: "validate_config", configText: "events {}" }),
      ).toEqual(result);
      expect(agent.received).toEqual([{ kind: "validate_config", configText: "events {}" }]);
      agent.detach();
    });

    test("unavailable when the agent has no session or no call channel", async () => {
      for (const id of ["a1", "nope"]) {
        const error = await expectDroverRejection(delivery.command(id, { kind: "get_status" }));
        expect(error.code).toBe("unavailable");
      }
      // A session without a channel (the transport has not attached one) is not callable either.
      await connect("a1");
      const error = await expectDroverRejection(delivery.command("a1", { kind: "get_status" }));
      expect(error.message).toMatch(/not connected/);
    });

    test("unavailable when the agent's session drops mid-command", async () => {
      await connect("a1");
      const agent = agentAnswering("a1", () => {
        throw new Error("unreachable: the session drops first");
      });
      agent.server.close(new DroverError("unavailable", "agent a1 disconnected"));
      const error = await expectDroverRejection(
        delivery.command("a1", { kind: "restart", timeoutSeconds: 5 }),
      );
      expect(error.code).toBe("unavailable");
      agent.detach();
    });
  });

  describe("access logs", () => {
    const entry = (uri: string, status: number) => ({
      timestamp: new Date(t0.getTime() + status),
      remoteAddr: "192.0.2.1",
      method: "GET",
      uri,
      protocol: "HTTP/1.1",
      status,
      bodyBytesSent: 10,
      requestBytes: 250,
      responseTimeMs: 1.5,
      host: "v1.example.com",
      userAgent: "curl/8",
      referer: null,
      requestId: "r-1",
    });

    test("entries are stored with the agent and its workspace", async () => {
      const a1 = await connect("a1");
      await a1.session.receive({
        kind: "access_logs",
        entries: [entry("/a", 200), entry("/b", 502)],
        skipped: 0,
      });
      const rows = await store.accessLogs.list({ agentId: "a1", limit: 10 });
      expect(rows.map((r) => [r.uri, r.status, r.agentId, r.workspaceId])).toEqual([
        ["/b", 502, "a1", "w1"],
        ["/a", 200, "a1", "w1"],
      ]);
      expect(rows[0]).toMatchObject({
        requestBytes: 250,
        userAgent: "curl/8",
        referer: null,
        requestId: "r-1",
      });
      expect(new Set(rows.map((r) => r.id)).size).toBe(2);
      expect(await store.accessLogs.count({ workspaceId: "w2" })).toBe(0);
    });

    test("an unassigned agent's entries are dropped; a malformed entry is refused", async () => {
      const u0 = await connect("u0");
      await u0.session.receive({ kind: "access_logs", entries: [entry("/a", 200)], skipped: 0 });
      expect(await store.accessLogs.count()).toBe(0);

      const a1 = await connect("a1");
      const error = await expectDroverRejection(
        a1.session.receive({ kind: "access_logs", entries: [entry("/a", 42)], skipped: 0 }),
      );
      expect(error.code).toBe("invalid_argument");
      expect(await store.accessLogs.count()).toBe(0);
    });
  });
});

describe("internal certificates: KeyGenRequests and SubmitPublicKeys", () => {
  let ca: FleetCA;
  let issued: number;
  let refuse: boolean;

  beforeEach(async () => {
    ca = await createFleetCA({ fleetId: "fleet-test", now: clock.now() });
    issued = 0;
    refuse = false;
    delivery.stop();
    delivery = createConfigDelivery({
      store,
      events: bus,
      clock,
      channels,
      async issueTlsCertificate(record, csrDer) {
        if (refuse) throw new DroverError("permission_denied", "the CA refused the order");
        const { publicKey } = await verifyCertificateRequest(csrDer);
        const certificate = await issueServerCertificate(ca, {
          publicKey,
          hostnames: [record.domain],
          ips: [],
          now: clock.now(),
          validityDays: 90,
        });
        issued += 1;
        return certificate;
      },
    });
    await store.tlsCertificates.insert({
      id: "c1",
      workspaceId: "w1",
      domain: "v1.example.com",
      isWildcard: false,
      provider: "internal",
      status: "pending",
      autoRenew: true,
      createdAt: t0,
      updatedAt: t0,
    });
    await createHost("v1", "w1", { sslEnabled: true, sslCertificateId: "c1", listenPort: 8443 });
  });

  const keyRequests = (c: Connection) =>
    c.sent.flatMap((m) => (m.kind === "key_gen" ? [m.request] : []));

  /** The agent's side of a key request: a fresh key and its CSR. */
  /** The agent's answer; issuance runs beside the session, so wait for its event. */
  async function submitKey(c: Connection, requestId: string): Promise<void> {
    const keys = await generateKeyPair();
    const before = events.length;
    await c.session.receive({
      kind: "public_key",
      requestId,
      csrDer: await createCertificateRequest(keys),
    });
    const deadline = Date.now() + 5_000;
    while (
      !events.slice(before).some((e) => /^certificate\.(issued|renewed|failed)$/.test(e.type))
    ) {
      if (Date.now() > deadline) throw new Error("no certificate event after the CSR");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await delivery.settled();
  }

  test("the host waits, set aside, while the agent is asked for a key; the signed certificate then serves it", async () => {
    const a1 = await connect("a1");
    const [request] = keyRequests(a1);
    const keyPath = request?.keyPath;
    expect(request).toMatchObject({
      purpose: "tls_certificate",
      dnsNames: ["v1.example.com"],
      keyPath: expect.stringMatching(/^keys\/c1-key-[0-9a-f]+\.key$/),
    });
    expect((await store.configStatus.get("a1"))?.hosts).toEqual([
      expect.objectContaining({ id: "v1", status: "set_aside" }),
    ]);
    await succeed(a1);
    await submitKey(a1, request?.id ?? "");
    expect(issued).toBe(1);
    const files = lastDelivery(a1);
    expect(files.write.map((f) => f.path)).toEqual(["certs/c1.pem", "nginx/nginx.conf"]);
    expect(files.write.some((f) => f.path.endsWith(".key"))).toBe(false);
    expect(nginxConf(files)).toContain(`ssl_certificate_key /srv/drover/${keyPath};`);
    expect(await store.tlsCertificates.get("c1")).toMatchObject({ status: "active" });
    expect(events.some((e) => e.type === "certificate.issued" && e.subjectId === "c1")).toBe(true);
    // Asked once: a recompute does not ask again while the certificate is valid.
    await succeed(a1);
    delivery.refreshAll();
    await delivery.settled();
    expect(keyRequests(a1)).toHaveLength(1);
  });

  test("renewal: once 2/3 of the lifetime has passed, a new key is asked for at a new path", async () => {
    const a1 = await connect("a1");
    await succeed(a1);
    await submitKey(a1, keyRequests(a1)[0]?.id ?? "");
    await succeed(a1);
    now += 61 * 86_400_000;
    delivery.refreshAll();
    await delivery.settled();
    const requests = keyRequests(a1);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.keyPath).not.toBe(requests[0]?.keyPath);
    await submitKey(a1, requests[1]?.id ?? "");
    expect(issued).toBe(2);
    expect(nginxConf(lastDelivery(a1))).toContain(`/srv/drover/${requests[1]?.keyPath};`);
  });

  test("a CSR for a request that was never made is refused, and nothing is issued", async () => {
    const a1 = await connect("a1");
    const keys = await generateKeyPair();
    const unknown = await expectDroverRejection(
      a1.session.receive({
        kind: "public_key",
        requestId: "key-unknown",
        csrDer: await createCertificateRequest(keys),
      }),
    );
    expect(unknown.code).toBe("invalid_argument");
    expect(unknown.details[0]?.field).toBe("public_key.request_id");
    const garbage = await expectDroverRejection(
      a1.session.receive({
        kind: "public_key",
        requestId: keyRequests(a1)[0]?.id ?? "",
        csrDer: new Uint8Array([48, 3, 2, 1, 0]),
      }),
    );
    expect(garbage.code).toBe("invalid_argument");
    expect(issued).toBe(0);
    expect(await store.tlsCertificates.get("c1")).toMatchObject({ status: "pending" });
  });

  test("renewCertificate asks every agent holding one for a new key now", async () => {
    const a1 = await connect("a1");
    await succeed(a1);
    await submitKey(a1, keyRequests(a1)[0]?.id ?? "");
    await succeed(a1);
    expect(await delivery.renewCertificate("c1")).toBe(1);
    expect(keyRequests(a1)).toHaveLength(2);
    await submitKey(a1, keyRequests(a1)[1]?.id ?? "");
    expect(issued).toBe(2);
    expect(events.filter((e) => e.type === "certificate.renewed")).toHaveLength(1);
    expect(await delivery.renewCertificate("nobody-holds-this")).toBe(0);
  });

  test("a refused issuance marks the record failed with why, and is not retried until the next refresh", async () => {
    refuse = true;
    const a1 = await connect("a1");
    await submitKey(a1, keyRequests(a1)[0]?.id ?? "");
    expect(await store.tlsCertificates.get("c1")).toMatchObject({
      status: "failed",
      statusMessage: "the CA refused the order",
    });
    expect(events.find((e) => e.type === "certificate.failed")?.data).toMatchObject({
      certificate_id: "c1",
      agent_id: "a1",
      error: "the CA refused the order",
    });
    await succeed(a1);
    await createHost("v2", "w1");
    await delivery.settled();
    expect(keyRequests(a1)).toHaveLength(1);
    await succeed(a1);
    refuse = false;
    delivery.refreshAll();
    await delivery.settled();
    expect(keyRequests(a1)).toHaveLength(2);
  });
});
