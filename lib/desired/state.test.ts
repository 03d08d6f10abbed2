import { describe, expect, test } from "bun:test";
import {
  agentRow as agent,
  tlsCertificateRow as certificate,
  virtualHostRow as host,
  upstreamServer as server,
  upstreamRow as upstream,
} from "../../test/support/config-rows.ts";
import { expectDroverThrow } from "../../test/support/errors.ts";
import { t0 } from "../../test/support/store-data.ts";
import { configHash } from "../drift/index.ts";
import type { TlsCertificateRow, UpstreamRow, VirtualHostRow } from "../store/index.ts";
import {
  CERTIFICATE_MODE,
  type CertificateMaterial,
  type DesiredState,
  type DesiredStateInput,
  type DesiredStateOptions,
  desiredStateForAgent,
  KEY_MODE,
  NGINX_CONFIG_MODE,
  NGINX_CONFIG_PATH,
} from "./index.ts";

const at = (ms: number) => new Date(t0.getTime() + ms);

const tlsHost = (id: string, certificateId: string, extra: Partial<VirtualHostRow> = {}) =>
  host(id, { listenPort: 8443, sslEnabled: true, sslCertificateId: certificateId, ...extra });

const viaUpstream = (upstreamId: string): VirtualHostRow["locations"] => [
  { path: "/", upstreamId, customHeaders: [], rewrites: [] },
];

const pem = (id: string): CertificateMaterial & { keyPem: string } => ({
  certificatePem: `-----BEGIN CERTIFICATE-----\n${id}\n-----END CERTIFICATE-----\n`,
  keyPem: `-----BEGIN PRIVATE KEY-----\n${id}\n-----END PRIVATE KEY-----\n`,
});

const options = (extra: Partial<DesiredStateOptions> = {}): DesiredStateOptions => ({
  configRoot: "/srv/drover",
  statusPort: 18081,
  certificateMaterial: pem,
  ...extra,
});

function desired(input: Partial<DesiredStateInput> = {}): DesiredState {
  return desiredStateForAgent({
    agent: agent(),
    virtualHosts: [],
    upstreams: [],
    certificates: [],
    options: options(),
    ...input,
  });
}

function nginxConf(state: DesiredState): string {
  const file = state.files.find((f) => f.path === NGINX_CONFIG_PATH);
  if (!file) throw new Error("no nginx.conf in the desired files");
  return typeof file.content === "string" ? file.content : new TextDecoder().decode(file.content);
}

const hostStatus = (state: DesiredState) =>
  Object.fromEntries(state.hosts.map((h) => [h.id, h.status]));

describe("desiredStateForAgent", () => {
  // Three hosts (one TLS), two upstreams, one certificate, and a clash on a
  // name: the older host (v-old) keeps it, whatever the order of the rows.
  const hosts = [
    host("v1", { locations: viaUpstream("u1") }),
    tlsHost("v2", "c1", { locations: viaUpstream("u2") }),
    host("v-old", { serverName: "shared.example.com", createdAt: at(0) }),
    host("v-new", { serverName: "shared.example.com", createdAt: at(1) }),
  ];
  const upstreams = [
    upstream("u1"),
    upstream("u2", { servers: [server("b.internal:80"), server("a.internal:80")] }),
  ];
  const certificates = [certificate("c1")];

  test("the same rows in any order give the same files and hash", () => {
    const base = desired({ virtualHosts: hosts, upstreams, certificates });
    expect(base.files.map((f) => f.path)).toEqual([
      "certs/c1.key",
      "certs/c1.pem",
      NGINX_CONFIG_PATH,
    ]);
    expect(base.hash).toBe(configHash(base.files));
    expect(hostStatus(base)).toEqual({
      v1: "applied",
      v2: "applied",
      "v-old": "applied",
      "v-new": "set_aside",
    });
    const orders = [
      (rows: readonly unknown[]) => [...rows].reverse(),
      (rows: readonly unknown[]) => [...rows.slice(1), rows[0]],
      (rows: readonly unknown[]) => [...rows.slice(2), ...rows.slice(0, 2)],
    ];
    for (const order of orders) {
      const shuffled = desired({
        virtualHosts: order(hosts) as VirtualHostRow[],
        upstreams: order(upstreams) as UpstreamRow[],
        certificates: order(certificates) as TlsCertificateRow[],
      });
      expect(shuffled).toEqual(base);
    }
  });

  test("rows of another workspace change nothing", () => {
    const base = desired({ virtualHosts: hosts, upstreams, certificates });
    const elsewhere = desired({
      virtualHosts: [
        ...hosts,
        host("x1", { workspaceId: "w2", serverName: "other.example.com" }),
        tlsHost("x2", "c9", { workspaceId: "w2" }),
      ],
      upstreams: [...upstreams, upstream("x-u", { workspaceId: "w2" })],
      certificates: [...certificates, certificate("c9", "w2")],
    });
    expect(elsewhere).toEqual(base);
    expect(nginxConf(elsewhere)).not.toContain("other.example.com");
  });

  test("a certificate of another workspace is not used: its host is set aside", () => {
    const asked: string[] = [];
    const state = desired({
      virtualHosts: [tlsHost("v1", "c9")],
      certificates: [certificate("c9", "w2")],
      options: options({
        certificateMaterial: (id) => {
          asked.push(id);
          return pem(id);
        },
      }),
    });
    expect(state.hosts).toEqual([
      expect.objectContaining({
        id: "v1",
        status: "set_aside",
        field: "tls.certificate_id",
      }),
    ]);
    expect(asked).toEqual([]);
    expect(state.files.map((f) => f.path)).toEqual([NGINX_CONFIG_PATH]);
  });

  test("target_agents: all takes every agent; a selector takes only matching labels", () => {
    const rows = [
      host("all", { targetAgents: { type: "all" } }),
      host("prod", { targetAgents: { type: "selector", labelSelector: "env=prod" } }),
      host("staging", { targetAgents: { type: "selector", labelSelector: "env=staging" } }),
    ];
    const prod = desired({ virtualHosts: rows });
    expect(hostStatus(prod)).toEqual({ all: "applied", prod: "applied" });
    expect(nginxConf(prod)).toContain("prod.example.com");
    expect(nginxConf(prod)).not.toContain("staging.example.com");

    const staging = desired({ agent: agent({ labels: { env: "staging" } }), virtualHosts: rows });
    expect(hostStatus(staging)).toEqual({ all: "applied", staging: "applied" });
    expect(nginxConf(staging)).not.toContain("prod.example.com");

    const unlabelled = desired({ agent: agent({ labels: {} }), virtualHosts: rows });
    expect(hostStatus(unlabelled)).toEqual({ all: "applied" });
    expect(unlabelled.hash).not.toBe(prod.hash);
  });

  test("an unparseable stored selector sets the host aside, with a reason, for every agent of the workspace", () => {
    const rows = [
      host("ok"),
      host("broken", { targetAgents: { type: "selector", labelSelector: "env=(prod" } }),
    ];
    const labelSets: Record<string, string>[] = [{ env: "prod" }, { env: "staging" }, {}];
    for (const labels of labelSets) {
      const state = desired({ agent: agent({ labels }), virtualHosts: rows });
      const broken = state.hosts.find((h) => h.id === "broken");
      expect(broken).toMatchObject({
        status: "set_aside",
        field: "target_agents.label_selector",
      });
      expect(broken?.status === "set_aside" ? broken.reason : "").toStartWith("target_agents: ");
      expect(hostStatus(state).ok).toBe("applied");
      expect(nginxConf(state)).not.toContain("broken.example.com");
    }
    // An agent of another workspace is not told about it.
    const other = desired({ agent: agent({ workspaceId: "w2" }), virtualHosts: rows });
    expect(other.hosts).toEqual([]);
  });

  test("an unassigned agent gets no hosts and no upstreams", () => {
    const state = desired({
      agent: agent({ workspaceId: null }),
      virtualHosts: hosts,
      upstreams,
      certificates,
    });
    expect(state.hosts).toEqual([]);
    expect(state.upstreams).toEqual([]);
    expect(state.names).toEqual([]);
    expect(state.files.map((f) => f.path)).toEqual([NGINX_CONFIG_PATH]);
    // The same as an agent of a workspace with no configuration at all.
    expect(state.hash).toBe(desired().hash);
    expect(nginxConf(state)).not.toContain("example.com");
  });

  test("a TLS host without certificate material is set aside and no certificate files are emitted", () => {
    for (const material of [
      () => undefined,
      () => ({ certificatePem: "CERT", keyPem: "" }),
      () => ({ certificatePem: "", keyPem: "KEY" }),
    ]) {
      const state = desired({
        virtualHosts: [host("plain"), tlsHost("secure", "c1")],
        certificates,
        options: options({ certificateMaterial: material }),
      });
      expect(hostStatus(state)).toEqual({ plain: "applied", secure: "set_aside" });
      expect(state.hosts.find((h) => h.id === "secure")).toMatchObject({
        field: "tls.certificate_id",
      });
      expect(state.files.map((f) => f.path)).toEqual([NGINX_CONFIG_PATH]);
      expect(nginxConf(state)).not.toContain("ssl_certificate");
    }
  });

  test("ssl_enabled without a certificate id is set aside, not served as plain HTTP", () => {
    const state = desired({
      virtualHosts: [host("v1", { sslEnabled: true, sslCertificateId: null })],
    });
    expect(state.hosts).toEqual([
      {
        id: "v1",
        status: "set_aside",
        reason: "ssl_enabled without a certificate",
        field: "ssl_certificate_id",
      },
    ]);
    expect(nginxConf(state)).not.toContain("v1.example.com");
  });

  test("with material: certificate (0644) and key (0600, secret) under certs/, named by absolute paths in nginx.conf", () => {
    const calls: string[] = [];
    const state = desired({
      // Two hosts share one certificate: its material is asked for once.
      virtualHosts: [tlsHost("v1", "c1"), tlsHost("v2", "c1")],
      certificates,
      options: options({
        configRoot: "/srv/drover/",
        certificateMaterial: (id) => {
          calls.push(id);
          return pem(id);
        },
      }),
    });
    expect(calls).toEqual(["c1"]);
    expect(hostStatus(state)).toEqual({ v1: "applied", v2: "applied" });
    expect(state.files.filter((f) => f.path !== NGINX_CONFIG_PATH)).toEqual([
      { path: "certs/c1.key", mode: KEY_MODE, content: pem("c1").keyPem, secret: true },
      { path: "certs/c1.pem", mode: CERTIFICATE_MODE, content: pem("c1").certificatePem },
    ]);
    expect(KEY_MODE).toBe(0o600);
    expect(CERTIFICATE_MODE).toBe(0o644);
    expect(state.files.find((f) => f.path === NGINX_CONFIG_PATH)?.mode).toBe(NGINX_CONFIG_MODE);
    const conf = nginxConf(state);
    expect(conf).toContain("ssl_certificate /srv/drover/certs/c1.pem;");
    expect(conf).toContain("ssl_certificate_key /srv/drover/certs/c1.key;");
  });

  test("a certificate for a key the agent keeps: only the certificate is delivered, nginx.conf names the agent's key", () => {
    const state = desired({
      virtualHosts: [tlsHost("v1", "c1")],
      certificates,
      options: options({
        certificateMaterial: (id) => ({
          certificatePem: pem(id).certificatePem,
          agentKeyPath: `keys/${id}-r1.key`,
        }),
      }),
    });
    expect(hostStatus(state)).toEqual({ v1: "applied" });
    expect(state.files.map((f) => f.path)).toEqual(["certs/c1.pem", NGINX_CONFIG_PATH]);
    expect(state.files.some((f) => f.secret)).toBe(false);
    const conf = nginxConf(state);
    expect(conf).toContain("ssl_certificate /srv/drover/certs/c1.pem;");
    expect(conf).toContain("ssl_certificate_key /srv/drover/keys/c1-r1.key;");
    // A key path that could leave the root is not material at all.
    const escaped = desired({
      virtualHosts: [tlsHost("v1", "c1")],
      certificates,
      options: options({
        certificateMaterial: () => ({ certificatePem: "CERT", agentKeyPath: "../../etc/key" }),
      }),
    });
    expect(hostStatus(escaped)).toEqual({ v1: "set_aside" });
  });

  test("names lists the DNS names the configuration proxies to, sorted", () => {
    const state = desired({
      virtualHosts: [
        host("v1", { locations: viaUpstream("u1") }),
        host("v2", {
          locations: [
            { path: "/", proxyPass: "http://m.internal:9000", customHeaders: [], rewrites: [] },
          ],
        }),
      ],
      upstreams: [
        upstream("u1", {
          servers: [server("z.internal:80"), server("10.0.0.9:80"), server("b.internal:80")],
        }),
      ],
    });
    expect(state.names).toEqual(["b.internal", "m.internal", "z.internal"]);
  });

  test("an unresolvable upstream server is left out; with no primary server left, the host is set aside", () => {
    const rows = {
      virtualHosts: [host("v1", { locations: viaUpstream("u1") })],
      upstreams: [upstream("u1", { servers: [server("a.internal:80"), server("b.internal:80")] })],
    };
    const all = desired(rows);
    expect(nginxConf(all)).toContain("server b.internal:80;");

    const partly = desired({
      ...rows,
      options: options({ resolvable: (n) => n !== "b.internal" }),
    });
    expect(partly.names).toEqual(["a.internal", "b.internal"]);
    expect(hostStatus(partly)).toEqual({ v1: "applied" });
    expect(partly.upstreams).toEqual([
      expect.objectContaining({ id: "u1", status: "applied", skippedServers: ["b.internal:80"] }),
    ]);
    expect(nginxConf(partly)).toContain("server a.internal:80;");
    expect(nginxConf(partly)).not.toContain("b.internal");
    expect(partly.hash).not.toBe(all.hash);

    const none = desired({ ...rows, options: options({ resolvable: () => false }) });
    expect(none.hosts).toEqual([
      expect.objectContaining({
        id: "v1",
        status: "set_aside",
        field: "locations.0.upstream_id",
      }),
    ]);
    expect(nginxConf(none)).not.toContain("v1.example.com");
  });

  test("an unresolvable proxy_pass host sets its virtual host aside", () => {
    const state = desired({
      virtualHosts: [
        host("v1", {
          locations: [
            { path: "/", proxyPass: "http://gone.internal:9000", customHeaders: [], rewrites: [] },
          ],
        }),
        host("v2"),
      ],
      options: options({ resolvable: (name) => name !== "gone.internal" }),
    });
    expect(state.names).toEqual(["gone.internal"]);
    expect(state.hosts).toEqual([
      expect.objectContaining({
        id: "v1",
        status: "set_aside",
        field: "locations.0.proxy_pass",
      }),
      expect.objectContaining({ id: "v2", status: "applied" }),
    ]);
    expect(nginxConf(state)).not.toContain("gone.internal");
  });

  test("downServers marks a server down in the output", () => {
    const rows = {
      virtualHosts: [host("v1", { locations: viaUpstream("u1") })],
      upstreams: [upstream("u1", { servers: [server("10.0.0.5:80"), server("10.0.0.6:80")] })],
    };
    const up = desired(rows);
    expect(nginxConf(up)).toContain("server 10.0.0.5:80;");
    expect(nginxConf(up)).not.toContain(" down;");

    const down = desired({ ...rows, options: options({ downServers: { u1: ["10.0.0.5:80"] } }) });
    expect(nginxConf(down)).toContain("server 10.0.0.5:80 down;");
    expect(nginxConf(down)).toContain("server 10.0.0.6:80;");
    expect(down.upstreams).toEqual([
      expect.objectContaining({ id: "u1", markedDown: ["10.0.0.5:80"] }),
    ]);
    expect(down.hash).not.toBe(up.hash);
    // Down marks for another upstream change nothing.
    expect(
      desired({ ...rows, options: options({ downServers: { u9: ["10.0.0.5:80"] } }) }),
    ).toEqual(up);
  });

  test("invalid options are refused, naming the option", () => {
    for (const configRoot of ["srv/drover", "", "./drover"]) {
      const error = expectDroverThrow(() => desired({ options: options({ configRoot }) }));
      expect(error.code).toBe("invalid_argument");
      expect(error.details[0]?.field).toBe("options.config_root");
    }
    const noMaterial = expectDroverThrow(() =>
      desired({
        options: {
          ...options(),
          certificateMaterial: undefined as unknown as DesiredStateOptions["certificateMaterial"],
        },
      }),
    );
    expect(noMaterial.details[0]?.field).toBe("options.certificate_material");
  });
});

// issue 10: location root/index served only from the agent's declared static roots.
describe("static roots", () => {
  const staticHost = (id: string, root: string) =>
    host(id, {
      locations: [
        { path: "/api", proxyPass: "http://127.0.0.1:9000", customHeaders: [], rewrites: [] },
        { path: "/", root, index: "index.html index.htm", customHeaders: [], rewrites: [] },
      ],
    });

  test("a root inside one of the agent's static roots compiles to root and index", () => {
    const state = desired({
      virtualHosts: [staticHost("h1", "/srv/www/site"), staticHost("h2", "/srv/www")],
      options: options({ staticRoots: ["/srv/www", "/opt/pages"] }),
    });
    expect(state.hosts.map((outcome) => outcome.status)).toEqual(["applied", "applied"]);
    const conf = nginxConf(state);
    expect(conf).toContain("root /srv/www/site;");
    expect(conf).toContain("root /srv/www;");
    expect(conf).toContain("index index.html index.htm;");
  });

  test("a root outside them sets the host aside for that agent, naming the field and its roots", () => {
    const state = desired({
      // /srv/www2 shares a prefix with /srv/www but is not inside it.
      virtualHosts: [staticHost("h1", "/srv/www2"), staticHost("h2", "/srv/www/ok")],
      options: options({ staticRoots: ["/srv/www"] }),
    });
    expect(state.hosts).toEqual([
      {
        id: "h1",
        status: "set_aside",
        reason: "locations.1.root /srv/www2 is outside this agent's static roots (/srv/www)",
        field: "locations.1.root",
      },
      { id: "h2", status: "applied", notes: [] },
    ]);
    expect(nginxConf(state)).not.toContain("/srv/www2");
  });

  test("an agent that declares no static root never gets a root directive", () => {
    const state = desired({ virtualHosts: [staticHost("h1", "/srv/www")] });
    expect(state.hosts).toEqual([
      {
        id: "h1",
        status: "set_aside",
        reason:
          "locations.1.root /srv/www: this agent declares no static root (drover agent --static-root DIR)",
        field: "locations.1.root",
      },
    ]);
    expect(nginxConf(state)).not.toMatch(/\broot\b/);
  });
});
