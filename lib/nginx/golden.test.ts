// Golden files: representative models compiled to test/golden/nginx/*.conf
// (regenerate with UPDATE_GOLDEN=1), each also checked by the real `nginx -t`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { compileNginxConfig } from "./compile.ts";
import { nginxFeatures } from "./features.ts";
import type { NginxCompileOptions, NginxFile, NginxModel } from "./model.ts";
import { makePrefix, nginxTest, nginxVersion, type Prefix, tokenize } from "./testing.ts";

const goldenDir = fileURLToPath(new URL("../../test/golden/nginx/", import.meta.url));
const update = process.env.UPDATE_GOLDEN === "1";
/** Paths in golden files start here; the nginx -t run uses a temp prefix instead. */
const goldenRoot = "/srv/drover-test";

interface Case {
  model: NginxModel;
  options?: Partial<NginxCompileOptions>;
  /** Needs an nginx with HTTP/3. */
  http3?: boolean;
}

function baseOptions(root: string): NginxCompileOptions {
  return {
    statusPort: 18081,
    // Only localhost resolves in tests: nginx -t resolves every name for real.
    resolvable: (host) => host === "localhost",
    certificateAvailable: (certificate) => !certificate.certificatePath.includes("missing"),
    runtime: {
      pidPath: `${root}/nginx.pid`,
      errorLogPath: `${root}/logs/error.log`,
      tempDir: `${root}/tmp`,
    },
  };
}

function tls(root: string, id: string) {
  return {
    certificateId: id,
    certificatePath: `${root}/tls/${id}.crt`,
    keyPath: `${root}/tls/${id}.key`,
  };
}

const cases: Record<string, (root: string) => Case> = {
  "simple-proxy": (root) => ({
    model: {
      global: {
        workerProcesses: 2,
        workerConnections: 512,
        accessLogPath: `${root}/logs/access.json`,
      },
      virtualHosts: [
        {
          id: "vh-app",
          serverNames: ["app.example.com"],
          listenPort: 18080,
          locations: [{ path: "/", proxyPass: "http://127.0.0.1:3000" }],
        },
      ],
    },
  }),

  "tls-http2": (root) => ({
    model: {
      global: {
        accessLogPath: `${root}/logs/access.json`,
        directives: { client_max_body_size: "10m", gzip: "on" },
      },
      virtualHosts: [
        {
          id: "vh-www",
          serverNames: ["www.example.com", "example.com"],
          listenPort: 18443,
          tls: tls(root, "cert-www"),
          http2: true,
          locations: [
            { path: "/", root: `${root}/www`, index: ["index.html", "index.htm"] },
            {
              path: "/api/",
              proxyPass: "https://localhost:8443/v2/",
              directives: { proxy_read_timeout: "120s", proxy_buffering: "off" },
            },
          ],
        },
        {
          id: "vh-wild",
          serverNames: ["*.apps.example.com"],
          listenPort: 18443,
          tls: tls(root, "cert-apps"),
          http2: false,
          directives: { client_max_body_size: "0" },
          locations: [{ path: "/", proxyPass: "http://[::1]:8080" }],
        },
        {
          // Plain HTTP on its own port: http2 without TLS is ignored, with a note.
          id: "vh-plain",
          serverNames: ["plain.example.com"],
          listenPort: 18080,
          http2: true,
          locations: [],
        },
      ],
    },
  }),

  upstreams: (root) => ({
    model: {
      global: { accessLogPath: `${root}/logs/access.json` },
      upstreams: [
        {
          id: "rr",
          servers: [
            { address: "10.0.0.3:8080", weight: 5, maxFails: 3, failTimeout: 30 },
            { address: "10.0.0.1:8080" },
            { address: "10.0.0.2:8080", down: true },
            { address: "10.0.0.9:8080", backup: true, maxFails: 0 },
            { address: "backend.invalid:8080" },
          ],
          healthCheck: { enabled: true, path: "/health", interval: 10, timeout: 5 },
        },
        {
          id: "lc",
          algorithm: "least_connections",
          servers: [{ address: "localhost:9001" }, { address: "[fd00::1]:9001", backup: true }],
        },
        {
          id: "iph",
          algorithm: "ip_hash",
          // Order is kept: ip_hash picks servers by position.
          servers: [{ address: "10.0.1.2:80", weight: 2 }, { address: "10.0.1.1:80" }],
        },
        {
          id: "hash-c",
          algorithm: "hash",
          hashKey: "$request_uri",
          hashConsistent: true,
          servers: [{ address: "10.0.2.2:80" }, { address: "10.0.2.1:80" }],
        },
        {
          id: "hash-plain",
          algorithm: "hash",
          hashKey: "$remote_addr$http_x_tenant",
          servers: [{ address: "10.0.3.2:80" }, { address: "10.0.3.1:80", maxFails: 2 }],
        },
        { id: "unused", servers: [{ address: "10.9.9.9:80" }] },
      ],
      virtualHosts: [
        {
          id: "vh-balance",
          serverNames: ["lb.example.com"],
          listenPort: 18080,
          locations: [
            { path: "/rr", upstreamId: "rr" },
            { path: "/lc", upstreamId: "lc" },
            { path: "/iph", upstreamId: "iph" },
            { path: "/hash-c", upstreamId: "hash-c" },
            { path: "/hash-plain", upstreamId: "hash-plain" },
          ],
        },
      ],
    },
    // The agent's active checker found these down.
    options: { downServers: { rr: ["10.0.0.3:8080"], iph: ["10.0.1.1:80"] } },
  }),

  keepalive: (root) => ({
    model: {
      global: { accessLogPath: `${root}/logs/access.json` },
      upstreams: [
        {
          id: "api",
          algorithm: "least_connections",
          keepalive: 32,
          servers: [{ address: "127.0.0.1:8080" }, { address: "127.0.0.1:8081" }],
        },
        { id: "plain", servers: [{ address: "127.0.0.1:9090" }] },
      ],
      virtualHosts: [
        {
          id: "vh-api",
          serverNames: ["api.example.com"],
          listenPort: 18080,
          locations: [
            { path: "/", upstreamId: "api" },
            {
              path: "/internal/",
              upstreamId: "api",
              headers: [
                { name: "Host", value: "internal.example.com", direction: "request" },
                { name: "X-Internal", value: "1", direction: "request" },
              ],
            },
            { path: "/legacy/", upstreamId: "plain" },
          ],
        },
      ],
    },
  }),

  "rewrites-headers": (root) => ({
    model: {
      global: { accessLogPath: `${root}/logs/access.json` },
      virtualHosts: [
        {
          id: "vh-site",
          serverNames: ["site.example.com"],
          listenPort: 18080,
          locations: [
            {
              path: "/",
              proxyPass: "http://localhost:3000",
              headers: [
                { name: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains" },
                { name: "X-Served-By", value: "$hostname" },
                { name: "X-Quote", value: 'say "hi" \\ bye' },
                { name: "X-Forwarded-Host", value: "$host", direction: "request" },
              ],
              rewrites: [
                { pattern: "^/old/(.*)$", replacement: "/new/$1", flag: "permanent" },
                {
                  pattern: "^/tmp/([a-z]{2,8})/(\\d+)$",
                  replacement: "/t/$2?lang=$1",
                  flag: "redirect",
                },
                { pattern: "^/docs$", replacement: "/docs/", flag: "last" },
                { pattern: '^/q/"(x|y)"\\.html$', replacement: "/q/$1", flag: "break" },
              ],
            },
            { path: "/files/\"odd'#name", root: `${root}/files` },
          ],
        },
      ],
    },
  }),

  "set-aside": (root) => ({
    model: {
      global: { accessLogPath: `${root}/logs/access.json` },
      upstreams: [
        {
          id: "ghost",
          servers: [{ address: "gone.invalid:80" }, { address: "10.0.0.1:80", backup: true }],
        },
        { id: "ok", servers: [{ address: "127.0.0.1:8080" }] },
        // Invalid (backup with ip_hash): with invalid "set_aside" only its users go.
        {
          id: "bad",
          algorithm: "ip_hash",
          servers: [{ address: "127.0.0.1:1", backup: true }, { address: "127.0.0.1:2" }],
        },
      ],
      virtualHosts: [
        {
          id: "vh-good",
          serverNames: ["good.example.com"],
          listenPort: 18080,
          locations: [{ path: "/", upstreamId: "ok" }],
        },
        {
          id: "vh-nocert",
          serverNames: ["nocert.example.com"],
          listenPort: 18443,
          tls: tls(root, "missing-cert"),
          locations: [{ path: "/", upstreamId: "ok" }],
        },
        {
          id: "vh-tls",
          serverNames: ["tls.example.com"],
          listenPort: 18443,
          tls: tls(root, "cert-tls"),
          locations: [{ path: "/", upstreamId: "ok" }],
        },
        {
          id: "vh-unresolved",
          serverNames: ["u.example.com"],
          listenPort: 18080,
          locations: [{ path: "/", proxyPass: "http://db.invalid:5432" }],
        },
        {
          id: "vh-ghost",
          serverNames: ["ghost.example.com"],
          listenPort: 18080,
          locations: [{ path: "/", upstreamId: "ghost" }],
        },
        {
          id: "vh-bad-upstream",
          serverNames: ["bad.example.com"],
          listenPort: 18080,
          locations: [{ path: "/", upstreamId: "bad" }],
        },
        { id: "vh-invalid", serverNames: ["bad name"], listenPort: 18080, locations: [] },
        {
          id: "vh-plain-on-tls",
          serverNames: ["mixed.example.com"],
          listenPort: 18443,
          locations: [],
        },
        { id: "vh-taken", serverNames: ["GOOD.example.com"], listenPort: 18080, locations: [] },
        { id: "vh-status-port", serverNames: ["s.example.com"], listenPort: 18081, locations: [] },
      ],
    },
    options: { invalid: "set_aside" },
  }),

  http3: (root) => ({
    http3: true,
    model: {
      global: { accessLogPath: `${root}/logs/access.json` },
      virtualHosts: [
        {
          id: "vh-h3a",
          serverNames: ["h3.example.com"],
          listenPort: 18443,
          tls: tls(root, "cert-h3"),
          http2: true,
          http3: true,
          locations: [
            { path: "/", proxyPass: "http://127.0.0.1:3000" },
            {
              path: "/h/",
              proxyPass: "http://127.0.0.1:3000",
              headers: [{ name: "X-A", value: "1" }],
            },
          ],
        },
        {
          id: "vh-h3b",
          serverNames: ["h3b.example.com"],
          listenPort: 18443,
          tls: tls(root, "cert-h3"),
          http3: true,
          locations: [],
        },
      ],
    },
    options: { supportsHttp3: true, http2Directive: true },
  }),
};

function compileCase(name: string, root: string) {
  const make = cases[name];
  if (!make) throw new Error(`no case ${name}`);
  const c = make(root);
  return { case: c, result: compileNginxConfig(c.model, { ...baseOptions(root), ...c.options }) };
}

let prefix: Prefix;
let features: ReturnType<typeof nginxFeatures>;
beforeAll(async () => {
  prefix = await makePrefix();
  features = nginxFeatures(await nginxVersion());
});
afterAll(() => prefix?.remove());

describe("golden nginx.conf files", () => {
  for (const name of Object.keys(cases)) {
    test(name, async () => {
      const golden = compileCase(name, goldenRoot).result.files[0]?.content ?? "";
      const path = `${goldenDir}${name}.conf`;
      if (update || !existsSync(path)) writeFileSync(path, golden);
      expect(golden).toBe(readFileSync(path, "utf8"));
      expect(() => tokenize(golden)).not.toThrow();

      // The same model under the temp prefix: same bytes but the paths, and nginx -t accepts it.
      const { case: c, result } = compileCase(name, prefix.dir);
      expect(result.files[0]?.content).toBe(golden.replaceAll(goldenRoot, prefix.dir));
      for (const host of c.model.virtualHosts) {
        const applied = result.hosts.find((h) => h.id === host.id)?.status === "applied";
        if (host.tls && applied) {
          await prefix.placeCertificate(host.tls.certificatePath, host.tls.keyPath);
        }
      }
      if (c.http3 && !features.supportsHttp3) {
        // nginx here has no HTTP/3 (nginx -V: ${features.version}); the file is still parsed above.
        return;
      }
      const check = await nginxTest(prefix.dir, result.files);
      expect(check.output).toBe("");
      expect(check.ok).toBe(true);
    });
  }

  test("set-aside outcomes say which hosts went and why", () => {
    const { result } = compileCase("set-aside", goldenRoot);
    const status = Object.fromEntries(
      result.hosts.map((h) => [h.id, h.status === "applied" ? "applied" : (h.field ?? h.reason)]),
    );
    expect(status).toEqual({
      "vh-bad-upstream": "virtual_hosts.5.locations.0.upstream_id",
      "vh-ghost": "virtual_hosts.4.locations.0.upstream_id",
      "vh-good": "applied",
      "vh-invalid": "virtual_hosts.6.server_names.0",
      "vh-nocert": "virtual_hosts.1.tls.certificate_id",
      "vh-plain-on-tls": "virtual_hosts.7.listen_port",
      "vh-status-port": "virtual_hosts.9.listen_port",
      "vh-taken": "virtual_hosts.8.server_names.0",
      "vh-tls": "applied",
      "vh-unresolved": "virtual_hosts.3.locations.0.proxy_pass",
    });
    expect(result.upstreams.map((u) => [u.id, u.status])).toEqual([
      ["bad", "set_aside"],
      ["ghost", "set_aside"],
      ["ok", "applied"],
    ]);
  });

  test("upstream outcomes report left-out and marked-down servers", () => {
    const { result } = compileCase("upstreams", goldenRoot);
    const rr = result.upstreams.find((u) => u.id === "rr");
    expect(rr).toEqual({
      id: "rr",
      status: "applied",
      name: "drover_rr",
      skippedServers: ["backend.invalid:8080"],
      markedDown: ["10.0.0.3:8080"],
    });
    expect(result.upstreams.find((u) => u.id === "unused")?.status).toBe("unused");
    const content = result.files[0]?.content ?? "";
    expect(content).not.toContain("backend.invalid");
    expect(content).not.toContain("health");
    expect(content).not.toContain("10.9.9.9");
  });
});

// Include layout: drover.conf, a fragment for the http {} block of a system
// nginx. Each golden fragment is also checked by the real `nginx -t` inside
// two main configurations that include it: a minimal one, and one shaped like
// Debian's /etc/nginx/nginx.conf with its default site (http-level
// ssl_protocols, gzip and access_log; `listen 80 default_server`).

function includeOptions(): NginxCompileOptions {
  return {
    layout: "include",
    statusPort: 18081,
    resolvable: (host) => host === "localhost",
    certificateAvailable: (certificate) => !certificate.certificatePath.includes("missing"),
  };
}

const includeCases: Record<string, (root: string) => Case> = {
  "include-proxy": (root) => ({
    model: {
      // Ignored in include layout: the system nginx owns them.
      global: {
        workerProcesses: 2,
        workerConnections: 512,
        accessLogPath: `${root}/logs/access.json`,
        // Debian's nginx.conf sets gzip at http level too: these go into each server.
        directives: { gzip: "on", client_max_body_size: "10m" },
      },
      upstreams: [
        {
          id: "api",
          algorithm: "least_connections",
          keepalive: 16,
          servers: [{ address: "127.0.0.1:8080" }, { address: "127.0.0.1:8081", weight: 2 }],
        },
      ],
      virtualHosts: [
        {
          id: "vh-app",
          serverNames: ["app.example.com"],
          // The port Debian's default site holds with `default_server`.
          listenPort: 80,
          directives: { client_max_body_size: "1m" },
          locations: [
            { path: "/", upstreamId: "api" },
            {
              path: "/static/",
              root: `${root}/www`,
              headers: [{ name: "Cache-Control", value: "max-age=60" }],
            },
          ],
        },
        {
          id: "vh-plain",
          serverNames: ["plain.example.com"],
          listenPort: 18080,
          locations: [{ path: "/", proxyPass: "http://localhost:3000" }],
        },
      ],
    },
    // The runtime paths a managed agent would pass are ignored.
    options: { runtime: { pidPath: `${root}/nginx.pid`, tempDir: `${root}/tmp` } },
  }),

  "include-tls": (root) => ({
    model: {
      // No access log path: no log_format, no access_log (the system's applies).
      virtualHosts: [
        {
          id: "vh-www",
          serverNames: ["www.example.com", "example.com"],
          listenPort: 18443,
          tls: tls(root, "cert-www"),
          http2: true,
          locations: [
            {
              path: "/",
              proxyPass: "http://127.0.0.1:3000",
              headers: [
                {
                  // Long enough that nginx's default proxy_headers_hash_bucket_size cannot hold it.
                  name: "X-A-Very-Long-Request-Header-Name-For-The-Upstream-Hash",
                  value: "$host",
                  direction: "request",
                },
              ],
            },
          ],
        },
        {
          id: "vh-api",
          serverNames: ["api.example.com"],
          listenPort: 18443,
          tls: tls(root, "cert-api"),
          locations: [{ path: "/", proxyPass: "http://127.0.0.1:3001" }],
        },
        {
          id: "vh-http",
          serverNames: ["www.example.com"],
          listenPort: 80,
          locations: [],
        },
      ],
    },
  }),

  "include-default-servers": (root) => ({
    model: {
      global: { accessLogPath: `${root}/logs/access.json` },
      virtualHosts: [
        {
          id: "vh-a",
          serverNames: ["a.example.com"],
          listenPort: 18080,
          locations: [{ path: "/", proxyPass: "http://127.0.0.1:3000" }],
        },
        {
          id: "vh-b",
          serverNames: ["b.example.com"],
          listenPort: 18443,
          tls: tls(root, "cert-b"),
          locations: [{ path: "/", proxyPass: "http://127.0.0.1:3000" }],
        },
      ],
    },
    // Ports the system does not use: its default site holds port 80.
    options: { defaultServers: true },
  }),

  "include-many-names": (root) => ({
    model: {
      global: { accessLogPath: `${root}/logs/access.json` },
      virtualHosts: [
        {
          id: "vh-many",
          // 70 names in all: more than nginx's default server_names_hash_max_size (512) holds at 8 slots each.
          serverNames: Array.from({ length: 35 }, (_, i) => `n${i}.e.com`),
          listenPort: 18080,
          locations: [],
        },
        {
          id: "vh-more",
          serverNames: Array.from({ length: 35 }, (_, i) => `m${i}.e.com`),
          listenPort: 18080,
          locations: [],
        },
      ],
    },
  }),
};

function compileIncludeCase(name: string, root: string) {
  const make = includeCases[name];
  if (!make) throw new Error(`no case ${name}`);
  const c = make(root);
  return {
    case: c,
    result: compileNginxConfig(c.model, { ...includeOptions(), ...c.options }),
  };
}

/** The test's temp paths: nginx -t creates them even though it serves nothing. */
function tempPaths(root: string): string {
  return ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((kind) => `    ${kind}_temp_path ${root}/tmp/${kind};`)
    .join("\n");
}

/** A main configuration that only includes the fragment. */
function minimalWrapper(root: string): NginxFile[] {
  return [
    {
      path: "nginx.conf",
      content: `pid ${root}/nginx.pid;
error_log ${root}/logs/error.log;
events {
}
http {
${tempPaths(root)}
    include ${root}/conf.d/*.conf;
}
`,
    },
  ];
}

/**
 * Debian's /etc/nginx/nginx.conf (nginx 1.22) and sites-available/default,
 * paths moved into the prefix; without `user www-data` (the test may run
 * where that user does not exist) and with temp paths of its own.
 */
function debianWrapper(root: string): NginxFile[] {
  return [
    {
      path: "nginx.conf",
      content: `worker_processes auto;
pid ${root}/nginx.pid;
error_log ${root}/logs/error.log;

events {
\tworker_connections 768;
}

http {
\tsendfile on;
\ttcp_nopush on;
\ttypes_hash_max_size 2048;
\t# server_tokens off;

\t# server_names_hash_bucket_size 64;

\tinclude ${root}/mime.types;
\tdefault_type application/octet-stream;

\tssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3; # Dropping SSLv3, ref: POODLE
\tssl_prefer_server_ciphers on;

\taccess_log ${root}/logs/access.log;

\tgzip on;

${tempPaths(root)}

\tinclude ${root}/conf.d/*.conf;
\tinclude ${root}/sites-enabled/*;
}
`,
    },
    { path: "mime.types", content: "types {\n    text/html html;\n    text/css css;\n}\n" },
    {
      path: "sites-enabled/default",
      content: `server {
\tlisten 80 default_server;
\tlisten [::]:80 default_server;
\troot /var/www/html;
\tindex index.html index.htm index.nginx-debian.html;
\tserver_name _;
\tlocation / {
\t\ttry_files $uri $uri/ =404;
\t}
}
`,
    },
  ];
}

const wrappers = { minimal: minimalWrapper, debian: debianWrapper };

async function placeCertificates(c: Case, result: ReturnType<typeof compileNginxConfig>) {
  for (const host of c.model.virtualHosts) {
    const applied = result.hosts.find((h) => h.id === host.id)?.status === "applied";
    if (host.tls && applied)
      await prefix.placeCertificate(host.tls.certificatePath, host.tls.keyPath);
  }
}

/** nginx -t of the fragment as conf.d/drover.conf under a wrapper. */
function testFragment(wrapper: keyof typeof wrappers, fragment: NginxFile) {
  return nginxTest(prefix.dir, [
    ...wrappers[wrapper](prefix.dir),
    { path: `conf.d/${fragment.path}`, content: fragment.content },
  ]);
}

describe("golden include-layout fragments (drover.conf)", () => {
  for (const name of Object.keys(includeCases)) {
    test(name, async () => {
      const golden = compileIncludeCase(name, goldenRoot).result.files[0]?.content ?? "";
      const path = `${goldenDir}${name}.conf`;
      if (update || !existsSync(path)) writeFileSync(path, golden);
      expect(golden).toBe(readFileSync(path, "utf8"));
      expect(() => tokenize(golden)).not.toThrow();

      const { case: c, result } = compileIncludeCase(name, prefix.dir);
      expect(result.files.map((file) => file.path)).toEqual(["drover.conf"]);
      const fragment = result.files[0] as NginxFile;
      expect(fragment.content).toBe(golden.replaceAll(goldenRoot, prefix.dir));
      await placeCertificates(c, result);
      for (const wrapper of Object.keys(wrappers) as Array<keyof typeof wrappers>) {
        const check = await testFragment(wrapper, fragment);
        expect({ wrapper, output: check.output }).toEqual({ wrapper, output: "" });
        expect(check.ok).toBe(true);
      }
    });
  }

  test("nothing of the main context or of what a system nginx.conf sets at http level", () => {
    for (const name of Object.keys(includeCases)) {
      const content = compileIncludeCase(name, goldenRoot).result.files[0]?.content ?? "";
      const statements = tokenize(content);
      const names = new Set(statements.map((s) => s.name));
      for (const banned of [
        "user",
        "worker_processes",
        "worker_connections",
        "pid",
        "error_log",
        "events",
        "http",
        "include",
        "default_type",
        "server_tokens",
        "client_body_temp_path",
        "proxy_temp_path",
      ]) {
        expect({ name, banned, found: names.has(banned) }).toEqual({ name, banned, found: false });
      }
      // At the top level only hash sizes, the log format, upstreams and servers.
      const top = new Set(statements.filter((s) => s.depth === 0).map((s) => s.name));
      for (const directive of top) {
        expect([
          "server_names_hash_bucket_size",
          "server_names_hash_max_size",
          "log_format",
          "upstream",
          "server",
        ]).toContain(directive);
      }
      // Every TLS server sets its own ssl_protocols.
      const servers = statements.filter((s) => s.depth === 0 && s.name === "server");
      const tlsListens = statements.filter(
        (s) => s.depth === 1 && s.name === "listen" && s.args.includes("ssl"),
      ).length;
      const protocols = statements.filter((s) => s.depth === 1 && s.name === "ssl_protocols");
      expect(protocols.length).toBe(tlsListens);
      for (const p of protocols) expect(p.args).toEqual(["TLSv1.2", "TLSv1.3"]);
      expect(servers.length).toBeGreaterThan(0);
    }
  });

  test("default servers only when asked for; the defaults do not clash with Debian's default site", async () => {
    const { case: c, result } = compileIncludeCase("include-proxy", prefix.dir);
    expect(result.files[0]?.content).not.toContain("default_server");
    // Asked for on port 80, where Debian's default site already is: nginx refuses it.
    const clashing = compileNginxConfig(c.model, {
      ...includeOptions(),
      defaultServers: true,
    }).files[0] as NginxFile;
    expect(clashing.content).toContain("listen 80 default_server;");
    await placeCertificates(c, result);
    expect((await testFragment("minimal", clashing)).ok).toBe(true);
    const check = await testFragment("debian", clashing);
    expect(check.ok).toBe(false);
    expect(check.output).toContain("a duplicate default server for 0.0.0.0:80");
  });

  test("what the include layout moves into servers would clash at http level", async () => {
    // Proof that the placement matters: the same directives at the fragment's top level.
    const { result } = compileIncludeCase("include-proxy", prefix.dir);
    const fragment = result.files[0] as NginxFile;
    const atTop = (line: string) =>
      testFragment("debian", { ...fragment, content: `${line}\n${fragment.content}` });
    const gzip = await atTop("gzip on;");
    expect(gzip.ok).toBe(false);
    expect(gzip.output).toContain('"gzip" directive is duplicate');
    // nginx 1.22 ORs a second ssl_protocols into the first with a warning
    // (TLSv1 and TLSv1.1 would stay on); later versions may refuse it.
    const protocols = await atTop("ssl_protocols TLSv1.2 TLSv1.3;");
    expect(protocols.output).toContain("duplicate");
  });

  test("hash sizes only above nginx's defaults; access log only with a path", () => {
    const many = compileIncludeCase("include-many-names", goldenRoot).result.files[0]?.content;
    expect(many).toContain("server_names_hash_max_size 1024;");
    expect(many).not.toContain("server_names_hash_bucket_size");
    const short = compileNginxConfig(
      {
        virtualHosts: [{ id: "s", serverNames: ["a.test"], listenPort: 18080, locations: [] }],
      },
      includeOptions(),
    ).files[0]?.content;
    expect(short).not.toContain("server_names_hash");
    expect(short).not.toContain("log_format");
    expect(short).not.toContain("access_log /");
    expect(compileIncludeCase("include-tls", goldenRoot).result.files[0]?.content).not.toContain(
      "log_format",
    );
  });

  test("an empty model: the status server alone, and nginx takes it", async () => {
    const result = compileNginxConfig({ virtualHosts: [] }, includeOptions());
    const content = result.files[0]?.content ?? "";
    expect(content.split("\n").slice(0, 6)).toEqual([
      "# Generated by Drover (lib/nginx) from the fleet's desired configuration.",
      "# Do not edit: the agent replaces this file on every change.",
      "# An http-level fragment: the system nginx includes it inside its http {} block.",
      "",
      "# The agent's status endpoint: loopback only.",
      "server {",
    ]);
    const check = await testFragment("debian", result.files[0] as NginxFile);
    expect(check.output).toBe("");
  });

  test("the layout is checked, and main stays the default", () => {
    const model: NginxModel = { virtualHosts: [] };
    expect(compileNginxConfig(model, baseOptions(goldenRoot)).files[0]?.path).toBe("nginx.conf");
    expect(
      compileNginxConfig(model, { ...baseOptions(goldenRoot), layout: "main" }).files[0]?.content,
    ).toBe(compileNginxConfig(model, baseOptions(goldenRoot)).files[0]?.content);
    expect(() =>
      compileNginxConfig(model, {
        ...baseOptions(goldenRoot),
        layout: "fragment" as unknown as "include",
      }),
    ).toThrow(expect.objectContaining({ code: "invalid_argument" }));
  });
});
