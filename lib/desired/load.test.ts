import { beforeEach, describe, expect, test } from "bun:test";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { tempStoreDir } from "../../test/support/store.ts";
import { newAgent, newAgentFile, t0 } from "../../test/support/store-data.ts";
import { openBunSqlite } from "../store/driver-bun.ts";
import { createStore } from "../store/store.ts";
import type { NewUpstream, NewVirtualHost, Store } from "../store/types.ts";
import {
  affectedAgents,
  type CertificateMaterial,
  type DesiredStateOptions,
  desiredStateForAgent,
  loadDesiredState,
  loadWorkspaceConfig,
  NGINX_CONFIG_PATH,
} from "./index.ts";

const { freshPath } = tempStoreDir("drover-desired-");
const at = (ms: number) => new Date(t0.getTime() + ms);

const upstream = (id: string, workspaceId = "w1", createdAt = t0): NewUpstream => ({
  id,
  workspaceId,
  name: `upstream-${id}`,
  algorithm: "round_robin",
  hashKey: null,
  servers: [
    {
      address: "10.0.0.5:8080",
      weight: 1,
      backup: false,
      down: false,
      maxFails: 1,
      failTimeout: 10,
    },
  ],
  keepalive: null,
  healthCheck: null,
  createdAt,
  updatedAt: createdAt,
});

const virtualHost = (
  id: string,
  workspaceId = "w1",
  extra: Partial<NewVirtualHost> = {},
): NewVirtualHost => ({
  id,
  workspaceId,
  name: `vhost-${id}`,
  serverName: `${id}.example.com`,
  listenPort: 8080,
  sslEnabled: false,
  sslCertificateId: null,
  http2Enabled: false,
  http3Enabled: false,
  locations: [{ path: "/", upstreamId: "u1", customHeaders: [], rewrites: [] }],
  targetAgents: { type: "all" },
  createdAt: t0,
  updatedAt: t0,
  ...extra,
});

const pem = (id: string): CertificateMaterial => ({ certificatePem: `C ${id}`, keyPem: `K ${id}` });
const options: DesiredStateOptions = {
  configRoot: "/srv/drover",
  statusPort: 18081,
  certificateMaterial: pem,
};

describe("loading desired state from the store", () => {
  let store: Store;
  beforeEach(async () => {
    store = await createStore(await openBunSqlite(freshPath()));
    const org = { name: "Org", createdAt: t0, updatedAt: t0 };
    await store.organizations.insert({ ...org, id: "o1", slug: "o1" });
    for (const id of ["w1", "w2"]) {
      await store.workspaces.insert({ ...org, id, organizationId: "o1", slug: id });
    }
    return async () => store.close();
  });

  test("loadWorkspaceConfig reads one workspace's rows in creation order; none for an unassigned agent", async () => {
    await store.upstreams.insert(upstream("u2", "w1", at(1)));
    await store.upstreams.insert(upstream("u1", "w1", at(0)));
    await store.upstreams.insert(upstream("u3", "w2"));
    await store.tlsCertificates.insert({
      id: "c1",
      workspaceId: "w1",
      domain: "c1.example.com",
      isWildcard: false,
      provider: "internal",
      status: "active",
      autoRenew: false,
      createdAt: t0,
      updatedAt: t0,
    });
    await store.virtualHosts.insert(
      virtualHost("v1", "w1", { sslEnabled: true, sslCertificateId: "c1", listenPort: 8443 }),
    );
    await store.virtualHosts.insert(
      virtualHost("v2", "w2", { locations: [], name: "vhost-other" }),
    );

    const config = await loadWorkspaceConfig(store, "w1");
    expect(config.upstreams.map((u) => u.id)).toEqual(["u1", "u2"]);
    expect(config.virtualHosts.map((v) => v.id)).toEqual(["v1"]);
    expect(config.certificates.map((c) => c.id)).toEqual(["c1"]);
    expect(await loadWorkspaceConfig(store, null)).toEqual({
      virtualHosts: [],
      upstreams: [],
      certificates: [],
      files: [],
    });
    expect((await loadWorkspaceConfig(store, "w2")).upstreams.map((u) => u.id)).toEqual(["u3"]);
  });

  test("loadWorkspaceConfig reads the workspace's files; loadDesiredState delivers the targeted ones", async () => {
    await store.agentFiles.insert(newAgentFile("f2", "w1", { createdAt: at(1) }));
    await store.agentFiles.insert(
      newAgentFile("f1", "w1", { targetAgents: { type: "selector", labelSelector: "env=prod" } }),
    );
    await store.agentFiles.insert(newAgentFile("f3", "w2"));
    expect((await loadWorkspaceConfig(store, "w1")).files.map((f) => f.id)).toEqual(["f1", "f2"]);
    await store.agents.insert({ ...newAgent("a1"), workspaceId: "w1" });
    const state = await loadDesiredState(store, "a1", options);
    expect(state.files.map((f) => f.path)).toEqual(["f2.txt", NGINX_CONFIG_PATH]);
  });

  test("loadWorkspaceConfig pages past 1000 rows a table", async () => {
    const ids = Array.from({ length: 1001 }, (_, i) => `u${String(i).padStart(4, "0")}`);
    await store.transaction(async (tx) => {
      for (const [i, id] of ids.entries()) await tx.upstreams.insert(upstream(id, "w1", at(i)));
    });
    await store.upstreams.insert(upstream("other", "w2"));
    const config = await loadWorkspaceConfig(store, "w1");
    expect(config.upstreams.map((u) => u.id)).toEqual(ids);
  });

  test("loadDesiredState computes from the agent's workspace; not_found for an unknown agent", async () => {
    await store.upstreams.insert(upstream("u1"));
    await store.virtualHosts.insert(virtualHost("v1"));
    await store.virtualHosts.insert(virtualHost("v9", "w2", { locations: [] }));
    await store.agents.insert({ ...newAgent("a1"), workspaceId: "w1" });
    await store.agents.insert(newAgent("a2"));

    const state = await loadDesiredState(store, "a1", options);
    expect(state.hosts).toEqual([{ id: "v1", status: "applied", notes: [] }]);
    const agent = await store.agents.get("a1");
    if (!agent) throw new Error("a1 vanished");
    expect(state).toEqual(
      desiredStateForAgent({
        agent,
        ...(await loadWorkspaceConfig(store, "w1")),
        options,
      }),
    );
    const conf = String(state.files.find((f) => f.path === NGINX_CONFIG_PATH)?.content);
    expect(conf).toContain("v1.example.com");
    expect(conf).not.toContain("v9.example.com");

    const unassigned = await loadDesiredState(store, "a2", options);
    expect(unassigned.hosts).toEqual([]);

    const missing = await expectDroverRejection(loadDesiredState(store, "nope", options));
    expect(missing.code).toBe("not_found");
    expect(missing.message).toContain("nope");
  });

  test("affectedAgents lists exactly the workspace's agents, sorted by id", async () => {
    for (const id of ["a3", "a1", "b2"]) {
      await store.agents.insert({ ...newAgent(id), workspaceId: "w1" });
    }
    await store.agents.insert({ ...newAgent("a2"), workspaceId: "w2" });
    await store.agents.insert(newAgent("a0"));
    expect(await affectedAgents(store, { workspaceId: "w1" })).toEqual(["a1", "a3", "b2"]);
    expect(await affectedAgents(store, { workspaceId: "w2" })).toEqual(["a2"]);
    expect(await affectedAgents(store, { workspaceId: "w9" })).toEqual([]);
  });

  test("affectedAgents pages past 1000 agents", async () => {
    const ids = Array.from({ length: 1001 }, (_, i) => `a${String(i).padStart(4, "0")}`);
    await store.transaction(async (tx) => {
      for (const id of [...ids].reverse()) {
        await tx.agents.insert({ ...newAgent(id), workspaceId: "w1" });
      }
    });
    await store.agents.insert({ ...newAgent("other"), workspaceId: "w2" });
    expect(await affectedAgents(store, { workspaceId: "w1" })).toEqual(ids);
  });
});
