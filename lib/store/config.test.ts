import { beforeEach, describe, expect, test } from "bun:test";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { drivers, tempStoreDir } from "../../test/support/store.ts";
import { newAgentFile, t0 } from "../../test/support/store-data.ts";
import { createStore } from "./store.ts";
import type {
  AgentFilePatch,
  NewAccessLog,
  NewTlsCertificate,
  NewUpstream,
  NewVirtualHost,
  Store,
} from "./types.ts";

const { freshPath } = tempStoreDir("drover-config-");
const at = (ms: number) => new Date(t0.getTime() + ms);

const certificate = (
  id: string,
  workspaceId = "w1",
  extra: Partial<NewTlsCertificate> = {},
): NewTlsCertificate => ({
  id,
  workspaceId,
  domain: `${id}.example.com`,
  isWildcard: false,
  provider: "letsencrypt",
  status: "pending",
  autoRenew: true,
  createdAt: t0,
  updatedAt: t0,
  ...extra,
});

const upstream = (
  id: string,
  workspaceId = "w1",
  extra: Partial<NewUpstream> = {},
): NewUpstream => ({
  id,
  workspaceId,
  name: `upstream-${id}`,
  algorithm: "round_robin",
  hashKey: null,
  servers: [
    {
      address: "10.0.0.1:8080",
      weight: 2,
      backup: false,
      down: false,
      maxFails: 3,
      failTimeout: 30,
    },
    { address: "[::1]:8080", weight: 1, backup: true, down: false, maxFails: 1, failTimeout: 10 },
  ],
  keepalive: 16,
  healthCheck: { enabled: true, path: "/health", interval: 10, timeout: 5 },
  createdAt: t0,
  updatedAt: t0,
  ...extra,
});

const virtualHost = (
  id: string,
  workspaceId = "w1",
  extra: Partial<NewVirtualHost> = {},
): NewVirtualHost => ({
  id,
  workspaceId,
  name: `vhost-${id}`,
  serverName: "example.com www.example.com",
  listenPort: 80,
  sslEnabled: false,
  sslCertificateId: null,
  http2Enabled: false,
  http3Enabled: false,
  customDirectives: null,
  locations: [
    {
      path: "/",
      proxyPass: "http://localhost:8080",
      customHeaders: [{ name: "X-Forwarded-Proto", value: "$scheme" }],
      rewrites: [{ pattern: "^/old/(.*)$", replacement: "/new/$1", flag: "permanent" }],
    },
  ],
  targetAgents: { type: "selector", labelSelector: "env=prod" },
  createdAt: t0,
  updatedAt: t0,
  ...extra,
});

const usingUpstream = (upstreamId: string) => [
  { path: "/api", upstreamId, customHeaders: [], rewrites: [] },
];

const log = (id: string, extra: Partial<NewAccessLog> = {}): NewAccessLog => ({
  id,
  agentId: "a1",
  workspaceId: "w1",
  timestamp: t0,
  remoteAddr: "192.0.2.1",
  method: "GET",
  uri: "/",
  protocol: "HTTP/1.1",
  host: "example.com",
  status: 200,
  bodyBytesSent: 100,
  responseTimeMs: 1.5,
  ...extra,
});

describe.each(drivers)("%s", (_driver, open) => {
  let store: Store;
  beforeEach(async () => {
    store = await createStore(await open(freshPath()));
    const org = { name: "Org", createdAt: t0, updatedAt: t0 };
    await store.organizations.insert({ ...org, id: "o1", slug: "o1" });
    for (const id of ["w1", "w2"]) {
      await store.workspaces.insert({ ...org, id, organizationId: "o1", slug: id });
    }
    return async () => store.close();
  });

  describe("tlsCertificates", () => {
    test("insert and get; domains are unique per workspace", async () => {
      const row = await store.tlsCertificates.insert(certificate("c1"));
      expect(row).toEqual({
        ...certificate("c1"),
        issuedAt: null,
        expiresAt: null,
        statusMessage: null,
      });
      expect(await store.tlsCertificates.get("c1")).toEqual(row);
      expect(await store.tlsCertificates.get("nope")).toBeNull();
      const issued = await store.tlsCertificates.insert(
        certificate("c2", "w2", { domain: "c1.example.com", issuedAt: at(1), expiresAt: at(2) }),
      );
      expect(issued).toMatchObject({ issuedAt: at(1), expiresAt: at(2) });
      const taken = await expectDroverRejection(
        store.tlsCertificates.insert(certificate("c3", "w1", { domain: "c1.example.com" })),
      );
      expect(taken.code).toBe("already_exists");
      expect(taken.message).toContain("c1.example.com");
      expect(
        (
          await expectDroverRejection(
            store.tlsCertificates.insert(certificate("c1", "w2", { domain: "x.example.com" })),
          )
        ).code,
      ).toBe("already_exists");
      const noWorkspace = await expectDroverRejection(
        store.tlsCertificates.insert(certificate("c4", "w9")),
      );
      expect(noWorkspace.code).toBe("not_found");
      expect(noWorkspace.message).toContain("w9");
      for (const bad of [
        certificate(""),
        certificate("c5", "w1", { domain: "" }),
        certificate("c5", "w1", { provider: "self" as "acme" }),
        certificate("c5", "w1", { status: "fine" as "active" }),
      ]) {
        expect((await expectDroverRejection(store.tlsCertificates.insert(bad))).code).toBe(
          "invalid_argument",
        );
      }
    });

    test("markIssued makes a record active with its validity; markFailed keeps why", async () => {
      await store.tlsCertificates.insert(certificate("c1"));
      const failed = await store.tlsCertificates.markFailed("c1", {
        message: "challenge refused",
        at: at(1),
      });
      expect(failed).toMatchObject({
        status: "failed",
        statusMessage: "challenge refused",
        updatedAt: at(1),
      });
      const issued = await store.tlsCertificates.markIssued("c1", {
        issuedAt: at(2),
        expiresAt: at(3),
        at: at(2),
      });
      expect(issued).toMatchObject({
        status: "active",
        statusMessage: null,
        issuedAt: at(2),
        expiresAt: at(3),
      });
      expect(
        (
          await expectDroverRejection(
            store.tlsCertificates.markFailed("nope", { message: "x", at: at(1) }),
          )
        ).code,
      ).toBe("not_found");
    });

    test("list and count by workspace, in creation order", async () => {
      await store.tlsCertificates.insert(certificate("c", "w1", { createdAt: at(2) }));
      await store.tlsCertificates.insert(certificate("b", "w1", { createdAt: at(1) }));
      await store.tlsCertificates.insert(certificate("a", "w2", { createdAt: at(0) }));
      const ids = async (workspaceId: string | undefined, limit: number, offset: number) =>
        (await store.tlsCertificates.list({ workspaceId, limit, offset })).map((c) => c.id);
      expect(await ids("w1", 10, 0)).toEqual(["b", "c"]);
      expect(await ids("w1", 1, 1)).toEqual(["c"]);
      expect(await ids(undefined, 10, 0)).toEqual(["a", "b", "c"]);
      expect(await store.tlsCertificates.count({ workspaceId: "w1" })).toBe(2);
      expect(await store.tlsCertificates.count()).toBe(3);
      expect(
        (await expectDroverRejection(store.tlsCertificates.list({ limit: -1, offset: 0 }))).code,
      ).toBe("invalid_argument");
    });

    test("delete is refused, naming the virtual host, while one serves the certificate", async () => {
      await store.tlsCertificates.insert(certificate("c1"));
      await store.virtualHosts.insert(
        virtualHost("v1", "w1", { sslEnabled: true, sslCertificateId: "c1", name: "Main" }),
      );
      const used = await expectDroverRejection(store.tlsCertificates.delete("c1"));
      expect(used.code).toBe("failed_precondition");
      expect(used.message).toContain('"Main" (v1)');
      expect(await store.tlsCertificates.get("c1")).not.toBeNull();
      await store.virtualHosts.delete("v1");
      expect(await store.tlsCertificates.delete("c1")).toBe(true);
      expect(await store.tlsCertificates.delete("c1")).toBe(false);
    });
  });

  describe("upstreams", () => {
    test("insert and get keep the JSON columns; names are unique per workspace", async () => {
      const row = await store.upstreams.insert(upstream("u1"));
      expect(row).toEqual(upstream("u1"));
      expect(await store.upstreams.get("u1")).toEqual(row);
      const bare = await store.upstreams.insert(
        upstream("u2", "w2", { name: "upstream-u1", keepalive: null, healthCheck: null }),
      );
      expect(bare).toMatchObject({ keepalive: null, healthCheck: null });
      const taken = await expectDroverRejection(
        store.upstreams.insert(upstream("u3", "w1", { name: "upstream-u1" })),
      );
      expect(taken.code).toBe("already_exists");
      expect(taken.message).toContain("upstream-u1");
      expect((await expectDroverRejection(store.upstreams.insert(upstream("u1", "w2")))).code).toBe(
        "already_exists",
      );
      expect((await expectDroverRejection(store.upstreams.insert(upstream("u4", "w9")))).code).toBe(
        "not_found",
      );
      expect(
        (await expectDroverRejection(store.upstreams.insert(upstream("u5", "w1", { name: "" }))))
          .code,
      ).toBe("invalid_argument");
    });

    test("list, count and update", async () => {
      await store.upstreams.insert(upstream("u1", "w1", { createdAt: at(1) }));
      await store.upstreams.insert(upstream("u2", "w1", { createdAt: at(0) }));
      await store.upstreams.insert(upstream("u3", "w2"));
      expect(
        (await store.upstreams.list({ workspaceId: "w1", limit: 10, offset: 0 })).map((u) => u.id),
      ).toEqual(["u2", "u1"]);
      expect(await store.upstreams.count({ workspaceId: "w2" })).toBe(1);

      const servers = [
        { address: "a.lan:80", weight: 1, backup: false, down: true, maxFails: 0, failTimeout: 1 },
      ];
      const updated = await store.upstreams.update(
        "u1",
        { algorithm: "hash", hashKey: "$request_uri", servers, healthCheck: null },
        at(5),
      );
      expect(updated).toEqual({
        ...upstream("u1", "w1", { createdAt: at(1) }),
        algorithm: "hash",
        hashKey: "$request_uri",
        servers,
        healthCheck: null,
        updatedAt: at(5),
      });
      const taken = await expectDroverRejection(
        store.upstreams.update("u1", { name: "upstream-u2" }, at(6)),
      );
      expect(taken.code).toBe("already_exists");
      expect(taken.message).toContain("w1");
      expect(
        (await expectDroverRejection(store.upstreams.update("nope", { name: "x" }, at(6)))).code,
      ).toBe("not_found");
      const moved = await store.upstreams.update(
        "u1",
        { workspaceId: "w2" } as unknown as { name?: string },
        at(7),
      );
      expect(moved.workspaceId).toBe("w1");
    });

    test("delete is refused, naming the virtual host, while a location uses the upstream", async () => {
      await store.upstreams.insert(upstream("u1"));
      await store.upstreams.insert(upstream("u2"));
      await store.virtualHosts.insert(
        virtualHost("v1", "w1", { name: "Gateway", locations: usingUpstream("u1") }),
      );
      const used = await expectDroverRejection(store.upstreams.delete("u1"));
      expect(used.code).toBe("failed_precondition");
      expect(used.message).toContain('"Gateway" (v1)');
      expect(await store.upstreams.get("u1")).not.toBeNull();
      expect(await store.upstreams.delete("u2")).toBe(true);
      // The refusal inside a transaction leaves the rest of it intact.
      await store.transaction(async (tx) => {
        await tx.upstreams.insert(upstream("u3"));
        await expectDroverRejection(tx.upstreams.delete("u1"));
      });
      expect(await store.upstreams.get("u3")).not.toBeNull();
      await store.virtualHosts.update("v1", { locations: [] }, at(1));
      expect(await store.upstreams.delete("u1")).toBe(true);
      expect(await store.upstreams.delete("u1")).toBe(false);
    });
  });

  describe("virtualHosts", () => {
    test("insert and get keep the JSON columns; names are unique per workspace", async () => {
      const row = await store.virtualHosts.insert(virtualHost("v1"));
      expect(row).toEqual(virtualHost("v1"));
      expect(await store.virtualHosts.get("v1")).toEqual(row);
      await store.virtualHosts.insert(virtualHost("v2", "w2", { name: "vhost-v1" }));
      const taken = await expectDroverRejection(
        store.virtualHosts.insert(virtualHost("v3", "w1", { name: "vhost-v1" })),
      );
      expect(taken.code).toBe("already_exists");
      expect(taken.message).toContain("vhost-v1");
      const noWorkspace = await expectDroverRejection(
        store.virtualHosts.insert(virtualHost("v4", "w9")),
      );
      expect(noWorkspace).toMatchObject({ code: "not_found" });
      expect(noWorkspace.message).toContain("w9");
      const noCertificate = await expectDroverRejection(
        store.virtualHosts.insert(virtualHost("v5", "w1", { sslCertificateId: "c9" })),
      );
      expect(noCertificate.code).toBe("not_found");
      expect(noCertificate.message).toContain("c9");
    });

    test("update, list, listUsingUpstream and listUsingCertificate", async () => {
      await store.upstreams.insert(upstream("u1"));
      await store.tlsCertificates.insert(certificate("c1"));
      await store.virtualHosts.insert(virtualHost("v1", "w1", { createdAt: at(1) }));
      await store.virtualHosts.insert(
        virtualHost("v2", "w1", { locations: usingUpstream("u1"), createdAt: at(0) }),
      );
      expect(
        (await store.virtualHosts.list({ workspaceId: "w1", limit: 10, offset: 0 })).map(
          (v) => v.id,
        ),
      ).toEqual(["v2", "v1"]);
      expect(await store.virtualHosts.count({ workspaceId: "w2" })).toBe(0);
      expect((await store.virtualHosts.listUsingUpstream("u1")).map((v) => v.id)).toEqual(["v2"]);

      const updated = await store.virtualHosts.update(
        "v1",
        {
          sslEnabled: true,
          sslCertificateId: "c1",
          customDirectives: { gzip: "on" },
          locations: usingUpstream("u1"),
          targetAgents: { type: "all" },
        },
        at(3),
      );
      expect(updated).toEqual({
        ...virtualHost("v1", "w1", { createdAt: at(1) }),
        sslEnabled: true,
        sslCertificateId: "c1",
        customDirectives: { gzip: "on" },
        locations: usingUpstream("u1"),
        targetAgents: { type: "all" },
        updatedAt: at(3),
      });
      expect((await store.virtualHosts.listUsingUpstream("u1")).map((v) => v.id)).toEqual([
        "v2",
        "v1",
      ]);
      expect((await store.virtualHosts.listUsingCertificate("c1")).map((v) => v.id)).toEqual([
        "v1",
      ]);
      expect(await store.virtualHosts.listUsingUpstream("nope")).toEqual([]);
      const noCertificate = await expectDroverRejection(
        store.virtualHosts.update("v1", { sslCertificateId: "c9" }, at(4)),
      );
      expect(noCertificate.code).toBe("not_found");
      expect(
        (await expectDroverRejection(store.virtualHosts.update("v1", { name: "vhost-v2" }, at(4))))
          .code,
      ).toBe("already_exists");
      expect(
        (await expectDroverRejection(store.virtualHosts.update("nope", { name: "x" }, at(4)))).code,
      ).toBe("not_found");
      expect(await store.virtualHosts.delete("v1")).toBe(true);
      expect(await store.virtualHosts.delete("v1")).toBe(false);
    });

    test("deleting the workspace removes its configuration and access logs", async () => {
      await store.tlsCertificates.insert(certificate("c1"));
      await store.upstreams.insert(upstream("u1"));
      await store.virtualHosts.insert(
        virtualHost("v1", "w1", {
          sslEnabled: true,
          sslCertificateId: "c1",
          locations: usingUpstream("u1"),
        }),
      );
      await store.virtualHosts.insert(virtualHost("v2", "w2"));
      await store.accessLogs.insertMany([log("l1"), log("l2", { workspaceId: "w2" })]);
      expect(await store.workspaces.delete("w1")).toBe(true);
      expect(await store.virtualHosts.get("v1")).toBeNull();
      expect(await store.upstreams.get("u1")).toBeNull();
      expect(await store.tlsCertificates.get("c1")).toBeNull();
      expect(await store.virtualHosts.get("v2")).not.toBeNull();
      expect(await store.accessLogs.count()).toBe(1);
    });
  });

  describe("agentFiles", () => {
    const file = newAgentFile;
    test("insert and get keep every column, the content exactly; names and paths are unique per workspace", async () => {
      const content = `A=1\n\t\u0001\r\n\u{1F600} \${x} $$\n`;
      const row = await store.agentFiles.insert(
        file("f1", "w1", {
          kind: "secret",
          mode: 0o600,
          content,
          targetAgents: { type: "selector", labelSelector: "env=prod" },
        }),
      );
      expect(row).toEqual(
        file("f1", "w1", {
          kind: "secret",
          mode: 0o600,
          content,
          targetAgents: { type: "selector", labelSelector: "env=prod" },
        }),
      );
      expect(await store.agentFiles.get("f1")).toEqual(row);
      // The same name and path in another workspace are fine.
      await store.agentFiles.insert(file("f2", "w2", { name: "f1", path: "f1.txt" }));

      const name = await expectDroverRejection(
        store.agentFiles.insert(file("f3", "w1", { name: "f1" })),
      );
      expect(name.code).toBe("already_exists");
      expect(name.message).toBe('file named "f1" already exists in workspace w1');
      const path = await expectDroverRejection(
        store.agentFiles.insert(file("f4", "w1", { path: "f1.txt" })),
      );
      expect(path.code).toBe("already_exists");
      expect(path.message).toBe('file with path "f1.txt" already exists in workspace w1');
      expect((await expectDroverRejection(store.agentFiles.insert(file("f1", "w2")))).code).toBe(
        "already_exists",
      );
      const noWorkspace = await expectDroverRejection(store.agentFiles.insert(file("f5", "w9")));
      expect(noWorkspace.code).toBe("not_found");
      expect(noWorkspace.message).toContain("w9");
      for (const bad of [{ path: "" }, { content: "a\u0000b" }]) {
        expect(
          (await expectDroverRejection(store.agentFiles.insert(file("f6", "w1", bad)))).code,
        ).toBe("invalid_argument");
      }
    });

    test("update changes what it is given, never the kind or the workspace; list, count and getByName", async () => {
      await store.agentFiles.insert(file("f1", "w1", { kind: "secret", createdAt: at(1) }));
      await store.agentFiles.insert(file("f2", "w1", { kind: "env_template", createdAt: at(0) }));
      await store.agentFiles.insert(file("f3", "w2", { kind: "env_template" }));
      const ids = async (filter: Parameters<Store["agentFiles"]["list"]>[0]) =>
        (await store.agentFiles.list(filter)).map((f) => f.id);
      expect(await ids({ workspaceId: "w1", limit: 10, offset: 0 })).toEqual(["f2", "f1"]);
      expect(await ids({ workspaceId: "w1", kind: "env_template", limit: 10, offset: 0 })).toEqual([
        "f2",
      ]);
      expect(await ids({ kind: "env_template", limit: 10, offset: 0 })).toEqual(["f2", "f3"]);
      expect(await store.agentFiles.count({ workspaceId: "w1" })).toBe(2);
      expect((await store.agentFiles.getByName("w1", "f1"))?.id).toBe("f1");
      expect(await store.agentFiles.getByName("w2", "f1")).toBeNull();

      const updated = await store.agentFiles.update(
        "f1",
        {
          path: "app/f1",
          mode: 0o400,
          content: "new",
          targetAgents: { type: "all" },
          kind: "file",
          workspaceId: "w2",
        } as AgentFilePatch,
        at(5),
      );
      expect(updated).toEqual({
        ...file("f1", "w1", { kind: "secret", createdAt: at(1) }),
        path: "app/f1",
        mode: 0o400,
        content: "new",
        updatedAt: at(5),
      });
      const taken = await expectDroverRejection(
        store.agentFiles.update("f1", { path: "f2.txt" }, at(6)),
      );
      expect(taken.message).toBe('file with path "f2.txt" already exists in workspace w1');
      const named = await expectDroverRejection(
        store.agentFiles.update("f1", { name: "f2" }, at(6)),
      );
      expect(named.message).toBe('file named "f2" already exists in workspace w1');
      expect(
        (await expectDroverRejection(store.agentFiles.update("nope", { name: "x" }, at(6)))).code,
      ).toBe("not_found");
      expect(await store.agentFiles.delete("f1")).toBe(true);
      expect(await store.agentFiles.delete("f1")).toBe(false);
    });

    test("pathConflict finds a file that is a directory of the path, or below it", async () => {
      await store.agentFiles.insert(file("dir", "w1", { path: "app", createdAt: at(0) }));
      await store.agentFiles.insert(file("deep", "w1", { path: "etc/x/y.conf", createdAt: at(1) }));
      await store.agentFiles.insert(file("emoji", "w1", { path: "\u{1F600}/a", createdAt: at(2) }));
      await store.agentFiles.insert(file("other", "w2", { path: "srv" }));
      const conflict = async (path: string, except?: string) =>
        (await store.agentFiles.pathConflict("w1", path, except))?.id ?? null;
      expect(await conflict("app/x.env")).toBe("dir");
      expect(await conflict("app/a/b")).toBe("dir");
      expect(await conflict("etc")).toBe("deep");
      expect(await conflict("etc/x")).toBe("deep");
      expect(await conflict("\u{1F600}")).toBe("emoji");
      expect(await conflict("app")).toBeNull();
      expect(await conflict("apps/x")).toBeNull();
      expect(await conflict("etc/x/y.conf")).toBeNull();
      expect(await conflict("etc/xy")).toBeNull();
      expect(await conflict("srv/a")).toBeNull();
      expect(await conflict("app/x.env", "dir")).toBeNull();
    });

    test("deleting the workspace removes its files", async () => {
      await store.agentFiles.insert(file("f1", "w1"));
      await store.agentFiles.insert(file("f2", "w2"));
      expect(await store.workspaces.delete("w1")).toBe(true);
      expect(await store.agentFiles.get("f1")).toBeNull();
      expect(await store.agentFiles.get("f2")).not.toBeNull();
    });
  });

  describe("accessLogs", () => {
    test("insertMany writes batches larger than one statement, all or nothing", async () => {
      const rows = Array.from({ length: 150 }, (_, i) =>
        log(`l${String(i).padStart(3, "0")}`, { timestamp: at(i) }),
      );
      expect(await store.accessLogs.insertMany(rows)).toBe(150);
      expect(await store.accessLogs.insertMany([])).toBe(0);
      expect(await store.accessLogs.count()).toBe(150);
      // The last row repeats an id: nothing of the batch is kept.
      const again = Array.from({ length: 100 }, (_, i) => log(`m${i}`)).concat(log("l000"));
      expect((await expectDroverRejection(store.accessLogs.insertMany(again))).code).toBe(
        "already_exists",
      );
      const unknown = [log("n1"), log("n2", { workspaceId: "w9" })];
      expect((await expectDroverRejection(store.accessLogs.insertMany(unknown))).code).toBe(
        "not_found",
      );
      expect(await store.accessLogs.count()).toBe(150);
      const bad = await expectDroverRejection(
        store.accessLogs.insertMany([log("x1"), log("x2", { status: 42 })]),
      );
      expect(bad.details[0]?.field).toBe("rows.1.status");
      expect(
        (
          await expectDroverRejection(
            store.accessLogs.insertMany([log("x3", { bodyBytesSent: -1 })]),
          )
        ).details[0]?.field,
      ).toBe("rows.0.bodyBytesSent");
      expect(
        (
          await expectDroverRejection(
            store.accessLogs.insertMany([log("x4", { requestBytes: 1.5 })]),
          )
        ).details[0]?.field,
      ).toBe("rows.0.requestBytes");
    });

    test("list is newest first and filters by workspace, agent, window and status", async () => {
      const inserted = [
        log("a", { timestamp: at(0), status: 200 }),
        log("b", {
          timestamp: at(10),
          status: 500,
          requestBytes: 321,
          userAgent: "curl/8",
          referer: null,
          requestId: "r-1",
        }),
        log("c", { timestamp: at(20), status: 500, agentId: "a2" }),
        log("d", { timestamp: at(30), status: 404 }),
        log("e", { timestamp: at(10), status: 200, workspaceId: "w2" }),
      ];
      await store.accessLogs.insertMany(inserted);
      const ids = async (filter: Parameters<Store["accessLogs"]["list"]>[0]) =>
        (await store.accessLogs.list(filter)).map((row) => row.id);
      expect(await ids({ workspaceId: "w1", limit: 10 })).toEqual(["d", "c", "b", "a"]);
      expect(await ids({ workspaceId: "w1", limit: 2, offset: 1 })).toEqual(["c", "b"]);
      expect(await ids({ workspaceId: "w1", from: at(10), to: at(30), limit: 10 })).toEqual([
        "c",
        "b",
      ]);
      expect(await ids({ workspaceId: "w1", status: 500, limit: 10 })).toEqual(["c", "b"]);
      expect(await ids({ agentId: "a2", limit: 10 })).toEqual(["c"]);
      expect(await store.accessLogs.count({ workspaceId: "w1", status: 500, from: at(11) })).toBe(
        1,
      );
      const [b] = await store.accessLogs.list({
        workspaceId: "w1",
        status: 500,
        to: at(11),
        limit: 1,
      });
      expect(b).toEqual({
        ...log("b"),
        timestamp: at(10),
        status: 500,
        requestBytes: 321,
        userAgent: "curl/8",
        referer: null,
        requestId: "r-1",
      });
      const [a] = await store.accessLogs.list({ workspaceId: "w1", to: at(1), limit: 1 });
      expect(a).toMatchObject({ requestBytes: 0, userAgent: null, referer: null, requestId: null });
    });

    test("stats count status classes and bytes in SQL", async () => {
      expect(await store.accessLogs.stats({ workspaceId: "w1" })).toEqual({
        total: 0,
        status2xx: 0,
        status3xx: 0,
        status4xx: 0,
        status5xx: 0,
        bodyBytesSent: 0,
        requestBytes: 0,
      });
      await store.accessLogs.insertMany([
        log("1", { status: 101, bodyBytesSent: 0 }),
        log("2", { status: 200, bodyBytesSent: 1000, requestBytes: 5000 }),
        log("3", { status: 299, bodyBytesSent: 1, requestBytes: 70 }),
        log("4", { status: 301, bodyBytesSent: 10 }),
        log("5", { status: 404, bodyBytesSent: 20 }),
        log("6", { status: 503, bodyBytesSent: 30 }),
        log("7", { status: 500, bodyBytesSent: 40, requestBytes: 300, timestamp: at(60_000) }),
        log("8", { status: 200, bodyBytesSent: 50, requestBytes: 9, workspaceId: "w2" }),
      ]);
      expect(await store.accessLogs.stats({ workspaceId: "w1" })).toEqual({
        total: 7,
        status2xx: 2,
        status3xx: 1,
        status4xx: 1,
        status5xx: 2,
        bodyBytesSent: 1101,
        requestBytes: 5370,
      });
      expect(
        await store.accessLogs.stats({ workspaceId: "w1", from: t0, to: at(60_000) }),
      ).toMatchObject({ total: 6, status5xx: 1, bodyBytesSent: 1061, requestBytes: 5070 });
      expect(await store.accessLogs.stats({ agentId: "a1" })).toMatchObject({ total: 8 });
    });
  });
});
