import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectDroverThrow } from "../../test/support/errors.ts";
import { DroverError } from "../errors/index.ts";
import type { UpstreamRow, VirtualHostRow } from "../store/index.ts";
import { compileNginxConfig, DEFAULT_PROXY_HEADERS } from "./compile.ts";
import { nginxFeatures } from "./features.ts";
import { nginxModelFromRows } from "./from-rows.ts";
import type {
  NginxCompileOptions,
  NginxLocation,
  NginxModel,
  NginxUpstream,
  NginxVirtualHost,
} from "./model.ts";
import { checkRewritePattern } from "./regex.ts";
import { makePrefix, nginxTest, type Prefix, tokenize } from "./testing.ts";
import { isKnownVariable } from "./variables.ts";

let prefix: Prefix;
beforeAll(async () => {
  prefix = await makePrefix();
});
afterAll(() => prefix?.remove());

function options(extra: Partial<NginxCompileOptions> = {}): NginxCompileOptions {
  const root = prefix?.dir ?? "/srv/x";
  return {
    statusPort: 18081,
    resolvable: (host) => host === "localhost",
    certificateAvailable: () => true,
    runtime: {
      pidPath: `${root}/nginx.pid`,
      errorLogPath: `${root}/logs/error.log`,
      tempDir: `${root}/tmp`,
    },
    ...extra,
  };
}

function host(
  extra: Partial<NginxVirtualHost> = {},
  location: Partial<NginxLocation> = {},
): NginxVirtualHost {
  return {
    id: "vh-1",
    serverNames: ["a.example.com"],
    listenPort: 18080,
    locations: [{ path: "/", proxyPass: "http://127.0.0.1:3000", ...location }],
    ...extra,
  };
}

function upstream(extra: Partial<NginxUpstream> = {}): NginxUpstream {
  return { id: "up", servers: [{ address: "127.0.0.1:8080" }], ...extra };
}

function compile(model: NginxModel, extra: Partial<NginxCompileOptions> = {}) {
  return compileNginxConfig(model, options(extra));
}

function conf(model: NginxModel, extra: Partial<NginxCompileOptions> = {}): string {
  return compile(model, extra).files[0]?.content ?? "";
}

/** The DroverError the call throws, checked to name `field`. */
function rejects(call: () => unknown, field: string): DroverError {
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DroverError);
  const error = caught as DroverError;
  expect(error.code).toBe("invalid_argument");
  expect(error.details[0]?.field).toBe(field);
  return error;
}

const withLocation = (location: Partial<NginxLocation>) => () =>
  compile({ virtualHosts: [host({}, location)] });
const withHost = (extra: Partial<NginxVirtualHost>) => () =>
  compile({ virtualHosts: [host(extra)] });
const withUpstream = (extra: Partial<NginxUpstream>) => () =>
  compile({
    upstreams: [upstream(extra)],
    virtualHosts: [host({}, { proxyPass: undefined, upstreamId: "up" })],
  });

const L = "virtual_hosts.0.locations.0";

async function passesNginx(content: string): Promise<void> {
  const check = await nginxTest(prefix.dir, [{ path: "nginx.conf", content }]);
  expect(check.output).toBe("");
  expect(check.ok).toBe(true);
}

describe("rejections name the field", () => {
  test("server names: regex, bad characters, duplicates, none", () => {
    const e = rejects(
      withHost({ serverNames: ["~^www\\.(.+)$"] }),
      "virtual_hosts.0.server_names.0",
    );
    expect(e.message).toContain("regular expression");
    for (const name of [
      "a;b",
      "a b",
      "a{b}",
      "a\nb",
      "$host",
      "bücher.de",
      "-a.com",
      "a..b",
      "*",
      "*.*.a",
      "",
    ]) {
      rejects(withHost({ serverNames: [name] }), "virtual_hosts.0.server_names.0");
    }
    rejects(withHost({ serverNames: ["a.com", "A.com"] }), "virtual_hosts.0.server_names.1");
    rejects(withHost({ serverNames: [] }), "virtual_hosts.0.server_names");
  });

  test("ids, ports and TLS", () => {
    rejects(withHost({ id: "a b" }), "virtual_hosts.0.id");
    rejects(withHost({ listenPort: 0 }), "virtual_hosts.0.listen_port");
    rejects(withHost({ listenPort: 70000 }), "virtual_hosts.0.listen_port");
    const tls = { certificateId: "c", certificatePath: "/etc/c.pem", keyPath: "/etc/k.pem" };
    for (const path of [
      "c.pem",
      "/etc/../c.pem",
      "/etc/$host.pem",
      "/etc/a b.pem",
      "/etc//c",
      "/etc/c;",
      '/etc/"c',
      "/",
    ]) {
      rejects(
        withHost({ tls: { ...tls, certificatePath: path } }),
        "virtual_hosts.0.tls.certificate_path",
      );
    }
    rejects(withHost({ tls: { ...tls, keyPath: "engine:x:y" } }), "virtual_hosts.0.tls.key_path");
    rejects(withHost({ tls: { ...tls, certificateId: "" } }), "virtual_hosts.0.tls.certificate_id");
    rejects(withHost({ http3: true }), "virtual_hosts.0.http3");
  });

  test("location paths, duplicates and targets", () => {
    for (const path of [
      "api",
      "/a;b",
      "/a{",
      "/a}",
      "/a\nb",
      "/a b",
      "/$uri",
      "/a\\b",
      "/\u0000",
      "/\ud800",
    ]) {
      rejects(withLocation({ path }), `${L}.path`);
    }
    rejects(
      () =>
        compile({
          virtualHosts: [
            host({
              locations: [
                { path: "/", root: "/srv" },
                { path: "/", root: "/srv" },
              ],
            }),
          ],
        }),
      "virtual_hosts.0.locations.1.path",
    );
    rejects(withLocation({ proxyPass: undefined }), L);
    rejects(withLocation({ root: "/srv" }), L);
    rejects(withLocation({ index: ["index.html"] }), `${L}.index`);
    rejects(withLocation({ proxyPass: undefined, upstreamId: "nope" }), `${L}.upstream_id`);
    rejects(withLocation({ proxyPass: undefined, root: "/srv", index: ["../x"] }), `${L}.index.0`);
    rejects(withLocation({ proxyPass: undefined, root: "/srv/$host" }), `${L}.root`);
  });

  test("proxy_pass URLs", () => {
    for (const url of [
      "ftp://a.com",
      "http://user@a.com",
      "http://a.com/#x",
      "http://a.com/$uri",
      "http://a.com/;x",
      "http://a.com/a b",
      'http://a.com/"',
      "http://a.com/%zz",
      "http://a.com:70000",
      "http://a_b.com",
      "http://[::g]:80",
      "http://a.com/\n",
      "//a.com",
    ]) {
      rejects(withLocation({ proxyPass: url }), `${L}.proxy_pass`);
    }
  });

  test("headers: RFC 7230 names, printable values, known variables only", () => {
    for (const name of ["X A", "X:A", "X-$host", "", "X\nA", "Ä", "X{"]) {
      rejects(withLocation({ headers: [{ name, value: "1" }] }), `${L}.headers.0.name`);
    }
    for (const value of [
      "{",
      "}",
      "a\nb",
      "\u00e9",
      "$",
      "$nosuch",
      "$1",
      "cost: 5$",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx's ${var} form, refused on purpose
      "${host}",
      "a\tb",
    ]) {
      rejects(withLocation({ headers: [{ name: "X-A", value }] }), `${L}.headers.0.value`);
    }
    rejects(
      withLocation({ headers: [{ name: "X-A", value: "1", direction: "sideways" as "request" }] }),
      `${L}.headers.0.direction`,
    );
    rejects(
      withLocation({
        headers: [
          { name: "X-A", value: "1", direction: "request" },
          { name: "x-a", value: "2", direction: "request" },
        ],
      }),
      `${L}.headers.1.name`,
    );
    // Accepted: quotes, backslashes, ';' (quoted), known variables and families.
    expect(() =>
      withLocation({
        headers: [{ name: "X-A", value: `a "b" \\ c; d $host $http_x_y $COOKIE_SID $arg_q` }],
      })(),
    ).not.toThrow();
  });

  test("rewrites: the regex subset, captures, flags", () => {
    const bad = [
      "(a",
      "a)",
      "[a",
      "a]",
      "a}",
      "{2}",
      "a{,3}",
      "a{3,1}",
      "a{2000}",
      "a;b",
      "a b",
      "(?<=a)b",
      "(?<n>a)",
      "(?i)a",
      "(a)\\1",
      "a++",
      "a*+",
      "[[:alpha:]]",
      "[]",
      "[^]",
      "[\\d-z]",
      "[z-a]",
      "\\u0041",
      "\\x41",
      "\\p{L}",
      "\\",
      "*a",
      "^*",
      "(?=a)*",
      "é",
      "",
    ];
    for (const pattern of bad) {
      rejects(
        withLocation({ rewrites: [{ pattern, replacement: "/x", flag: "last" }] }),
        `${L}.rewrites.0.pattern`,
      );
    }
    for (const replacement of ["/$2", "/$nosuch", "/a;b", "/{x}", "/a b", "", "/$"]) {
      rejects(
        withLocation({ rewrites: [{ pattern: "^/(a)$", replacement, flag: "last" }] }),
        `${L}.rewrites.0.replacement`,
      );
    }
    rejects(
      withLocation({ rewrites: [{ pattern: "^/", replacement: "/", flag: "forever" as "last" }] }),
      `${L}.rewrites.0.flag`,
    );
    expect(checkRewritePattern("p", "^/(a|b)(?:c)(?=d)[^\\]x-z-]\\d{2,3}?$")).toBe(1);
  });

  test("accepted rewrite patterns compile in nginx too", async () => {
    const patterns = [
      "^/(a|b)(?:c)(?=d)[^\\]x-z-]\\d{2,3}?$",
      "^/old/(.*)$",
      '"quoted"',
      "'single'",
      "#hash",
      "a\\{1\\}",
      "[a-z\\-_.]+\\.html?$",
      "\\bword\\B",
      "(x)(y)(z)(?!q)",
      "a{3}b{2,}c{1,5}?",
      "[\\t\\n\\r\\f]",
      "\\/\\.\\*\\+\\?\\(\\)\\[\\]\\|\\^\\$\\\\",
      "a|",
      "()",
    ];
    const locations = patterns.map((pattern, i) => ({
      path: `/r${i}`,
      proxyPass: "http://127.0.0.1:1",
      rewrites: [{ pattern, replacement: "/x$uri", flag: "break" as const }],
    }));
    await passesNginx(conf({ virtualHosts: [host({ locations })] }));
  });

  test("upstreams: combinations nginx refuses", () => {
    const u = "upstreams.0";
    rejects(
      withUpstream({
        algorithm: "ip_hash",
        servers: [{ address: "127.0.0.1:1" }, { address: "127.0.0.1:2", backup: true }],
      }),
      `${u}.servers.1.backup`,
    );
    rejects(
      withUpstream({
        algorithm: "hash",
        hashKey: "$uri",
        servers: [{ address: "127.0.0.1:1" }, { address: "127.0.0.1:2", backup: true }],
      }),
      `${u}.servers.1.backup`,
    );
    rejects(withUpstream({ servers: [{ address: "127.0.0.1:1", backup: true }] }), `${u}.servers`);
    rejects(withUpstream({ servers: [] }), `${u}.servers`);
    rejects(withUpstream({ algorithm: "hash" }), `${u}.hash_key`);
    rejects(withUpstream({ hashKey: "$uri" }), `${u}.hash_key`);
    rejects(withUpstream({ hashConsistent: true }), `${u}.hash_consistent`);
    for (const hashKey of ["$nosuch", 'a"b', "a b", "a;b", "{", "$"]) {
      rejects(withUpstream({ algorithm: "hash", hashKey }), `${u}.hash_key`);
    }
    rejects(withUpstream({ algorithm: "random" as "hash" }), `${u}.algorithm`);
    for (const address of [
      "127.0.0.1",
      "unix:/tmp/s",
      "[::g]:1",
      "::1:80",
      "a b:80",
      "a;b:80",
      "h:0",
      "h:65536",
      "a_b:80",
    ]) {
      rejects(withUpstream({ servers: [{ address }] }), `${u}.servers.0.address`);
    }
    rejects(
      withUpstream({ servers: [{ address: "127.0.0.1:1", weight: 0 }] }),
      `${u}.servers.0.weight`,
    );
    rejects(
      withUpstream({ servers: [{ address: "127.0.0.1:1", maxFails: 101 }] }),
      `${u}.servers.0.max_fails`,
    );
    rejects(
      withUpstream({ servers: [{ address: "127.0.0.1:1", failTimeout: 0 }] }),
      `${u}.servers.0.fail_timeout`,
    );
    rejects(withUpstream({ keepalive: 2000 }), `${u}.keepalive`);
    rejects(withUpstream({ id: "has space" }), `${u}.id`);
  });

  test("custom directives: allow-list and value grammar", () => {
    rejects(
      withHost({ directives: { include: "/etc/passwd" } }),
      "virtual_hosts.0.directives.include",
    );
    rejects(withHost({ directives: { __proto__x: "1" } }), "virtual_hosts.0.directives.__proto__x");
    const bad: Record<string, string[]> = {
      gzip: ["yes", "ON ", "on;"],
      client_max_body_size: ["10 m", "1t", "-1", "10m;", ""],
      client_body_buffer_size: ["1g", "0"],
      proxy_read_timeout: ["1m30s", "60 s", "x", "$uri"],
      proxy_buffering: ["true"],
    };
    for (const [name, values] of Object.entries(bad)) {
      for (const value of values) {
        rejects(withLocation({ directives: { [name]: value } }), `${L}.directives.${name}`);
      }
    }
    rejects(
      () => compile({ global: { directives: { worker_rlimit_nofile: "1" } }, virtualHosts: [] }),
      "global.directives.worker_rlimit_nofile",
    );
  });

  test("global settings and options", () => {
    rejects(
      () => compile({ global: { workerProcesses: 0 }, virtualHosts: [] }),
      "global.worker_processes",
    );
    rejects(
      () => compile({ global: { accessLogPath: "logs/a.log" }, virtualHosts: [] }),
      "global.access_log_path",
    );
    rejects(
      () => compile({ global: { accessLogPath: "syslog:server=x" }, virtualHosts: [] }),
      "global.access_log_path",
    );
    rejects(() => compile({ virtualHosts: [] }, { statusPort: 0 }), "options.status_port");
    rejects(
      () => compile({ virtualHosts: [] }, { runtime: { user: "root;" } }),
      "options.runtime.user",
    );
    rejects(
      () => compile({ virtualHosts: [] }, { runtime: { pidPath: "/run/$pid" } }),
      "options.runtime.pid_path",
    );
  });

  test("duplicate ids throw even when invalid hosts are set aside", () => {
    rejects(
      () => compile({ virtualHosts: [host(), host()] }, { invalid: "set_aside" }),
      "virtual_hosts.1.id",
    );
    rejects(
      () =>
        compile(
          { upstreams: [upstream(), upstream()], virtualHosts: [] },
          { invalid: "set_aside" },
        ),
      "upstreams.1.id",
    );
  });
});

describe("set aside, not offline", () => {
  test("an invalid host is set aside in set_aside mode; the others compile", () => {
    const result = compile(
      {
        virtualHosts: [
          host({ id: "bad", serverNames: ["x;y"] }),
          host({ id: "good", serverNames: ["g.example.com"] }),
        ],
      },
      { invalid: "set_aside" },
    );
    expect(result.hosts).toEqual([
      {
        id: "bad",
        status: "set_aside",
        reason: 'virtual_hosts.0.server_names.0: must be a DNS name, optionally starting with "*."',
        field: "virtual_hosts.0.server_names.0",
      },
      { id: "good", status: "applied", notes: [] },
    ]);
    expect(result.files[0]?.content).toContain("server_name g.example.com;");
  });

  test("missing certificate files and unresolvable names", async () => {
    const result = compile(
      {
        upstreams: [
          upstream({ servers: [{ address: "gone.invalid:80" }, { address: "localhost:81" }] }),
        ],
        virtualHosts: [
          host({
            id: "tls",
            listenPort: 18443,
            tls: {
              certificateId: "c1",
              certificatePath: prefix.certificatePath,
              keyPath: prefix.keyPath,
            },
          }),
          host(
            { id: "proxy", serverNames: ["p.example.com"] },
            { proxyPass: "http://nowhere.invalid" },
          ),
          host(
            { id: "up", serverNames: ["u.example.com"] },
            { proxyPass: undefined, upstreamId: "up" },
          ),
        ],
      },
      { certificateAvailable: (c) => c.certificateId !== "c1" },
    );
    expect(result.hosts.map((h) => [h.id, h.status])).toEqual([
      ["proxy", "set_aside"],
      ["tls", "set_aside"],
      ["up", "applied"],
    ]);
    const content = result.files[0]?.content ?? "";
    expect(content).not.toContain("gone.invalid");
    expect(content).not.toContain("nowhere.invalid");
    expect(content).toContain("server localhost:81;");
    await passesNginx(content);
  });

  test("zero hosts still give a valid file with the status listener", async () => {
    const content = conf({ virtualHosts: [] });
    expect(content).toContain("listen 127.0.0.1:18081;");
    expect(content).toContain("stub_status;");
    await passesNginx(content);
  });
});

describe("emission", () => {
  test("keepalive upstreams get HTTP/1.1 and an empty Connection header, with the defaults repeated", () => {
    const content = conf({
      upstreams: [upstream({ keepalive: 8 }), upstream({ id: "plain" })],
      virtualHosts: [
        host({
          locations: [
            { path: "/k", upstreamId: "up" },
            { path: "/p", upstreamId: "plain" },
            {
              path: "/c",
              upstreamId: "up",
              headers: [{ name: "connection", value: "upgrade", direction: "request" }],
            },
          ],
        }),
      ],
    });
    const statements = tokenize(content);
    const inLocation = (path: string) => {
      const start = statements.findIndex((s) => s.name === "location" && s.args[0] === path);
      const out = [];
      for (const s of statements.slice(start + 1)) {
        if (s.depth <= 2) break;
        out.push([s.name, ...s.args].join(" "));
      }
      return out;
    };
    expect(inLocation("/k")).toEqual([
      "proxy_pass http://drover_up",
      "proxy_http_version 1.1",
      ...DEFAULT_PROXY_HEADERS.map(([name, value]) => `proxy_set_header ${name} ${value}`),
      "proxy_set_header Connection ",
    ]);
    expect(inLocation("/p")).toEqual(["proxy_pass http://drover_plain"]);
    expect(inLocation("/c").filter((line) => /connection/i.test(line))).toEqual([
      "proxy_set_header connection upgrade",
    ]);
  });

  test("a request header replaces the default of the same name", () => {
    const content = conf({
      virtualHosts: [
        host({}, { headers: [{ name: "host", value: "backend.local", direction: "request" }] }),
      ],
    });
    const location = content.slice(content.indexOf("location /"));
    expect(location).not.toContain("proxy_set_header Host $host;");
    expect(location).toContain('proxy_set_header host "backend.local";');
    expect(location).toContain("proxy_set_header X-Real-IP $remote_addr;");
  });

  test("http3 only when supported; reuseport once per port; Alt-Svc survives location add_header", () => {
    const tls = { certificateId: "c", certificatePath: "/srv/c.pem", keyPath: "/srv/k.pem" };
    const model: NginxModel = {
      virtualHosts: [
        host(
          { id: "a", listenPort: 443, tls, http3: true },
          { headers: [{ name: "X-A", value: "1" }] },
        ),
        host({
          id: "b",
          serverNames: ["b.example.com"],
          listenPort: 443,
          tls,
          http3: true,
          http2: true,
        }),
      ],
    };
    const without = compile(model);
    expect(without.files[0]?.content).not.toContain("quic");
    expect(without.hosts[0]).toEqual({
      id: "a",
      status: "applied",
      notes: ["http3 is not supported by this nginx: served over TCP only"],
    });
    const content = conf(model, { supportsHttp3: true, http2Directive: true });
    expect(content.match(/listen 443 quic reuseport;/g)?.length).toBe(1);
    expect(content.match(/listen 443 quic;/g)?.length).toBe(1);
    expect(content).toContain("http2 on;");
    expect(content).not.toContain("ssl http2");
    // Server level for both hosts, and again in a's location that has its own add_header.
    expect(content.match(/add_header Alt-Svc "h3=\\":443\\"; ma=86400" always;/g)?.length).toBe(3);
  });

  test("long header names and server names get hash sizes nginx accepts", async () => {
    const longLabel = "a".repeat(63);
    const longName = [longLabel, longLabel, longLabel, "b".repeat(61)].join(".");
    expect(longName.length).toBe(253);
    const content = conf({
      virtualHosts: [
        host(
          { serverNames: [longName, `*.${longName.slice(2)}`] },
          { headers: [{ name: "X".repeat(256), value: "1", direction: "request" }] },
        ),
      ],
    });
    expect(content).toContain("proxy_headers_hash_bucket_size");
    await passesNginx(content);
  });

  test("2,000 virtual hosts pass nginx -t", async () => {
    const virtualHosts = Array.from({ length: 2000 }, (_, i) =>
      host({ id: `vh-${i}`, serverNames: [`host-${i}.example.com`, `www.host-${i}.example.com`] }),
    );
    await passesNginx(conf({ virtualHosts }));
  });

  test("every known variable is known to nginx", async () => {
    const { readFileSync } = await import("node:fs");
    const source = readFileSync(new URL("./variables.ts", import.meta.url), "utf8");
    const block = source.slice(source.indexOf("new Set(["), source.indexOf("]);"));
    const names = [...block.matchAll(/"([a-z0-9_]+)"/g)].map((m) => m[1] as string);
    expect(names.length).toBeGreaterThan(90);
    const families = [
      "arg_q",
      "cookie_sid",
      "http_x_y",
      "sent_http_etag",
      "sent_trailer_x",
      "upstream_cookie_s",
      "upstream_http_server",
      "upstream_trailer_x",
    ];
    const all = [...names, ...families, "HOST", "Http_X_Foo"];
    for (const name of all) expect(isKnownVariable(name)).toBe(true);
    expect(isKnownVariable("http_")).toBe(false);
    expect(isKnownVariable("nosuch")).toBe(false);
    const headers = all.map((name, i) => ({ name: `X-V${i}`, value: `$${name}` }));
    const locations = [];
    for (let i = 0; i < headers.length; i += 60) {
      locations.push({
        path: `/v${i}`,
        proxyPass: "http://127.0.0.1:1",
        headers: headers.slice(i, i + 60),
      });
    }
    await passesNginx(conf({ virtualHosts: [host({ locations })] }));
  });

  test("the harness sees nginx refuse a broken file", async () => {
    const check = await nginxTest(prefix.dir, [
      { path: "nginx.conf", content: "events {}\nhttp { nosuch; }\n" },
    ]);
    expect(check.ok).toBe(false);
    expect(check.output).toContain("nosuch");
  });
});

describe("determinism", () => {
  const model = (): NginxModel => ({
    global: { directives: { gzip: "on", client_max_body_size: "1m" } },
    upstreams: [
      upstream({
        id: "rr",
        servers: [
          { address: "10.0.0.1:80" },
          { address: "10.0.0.2:80", weight: 2 },
          { address: "10.0.0.3:80", backup: true },
        ],
      }),
      upstream({
        id: "lc",
        algorithm: "least_connections",
        servers: [{ address: "10.0.1.1:80" }, { address: "10.0.1.2:80" }],
      }),
      upstream({
        id: "hc",
        algorithm: "hash",
        hashKey: "$uri",
        hashConsistent: true,
        servers: [{ address: "10.0.2.1:80" }, { address: "10.0.2.2:80" }],
      }),
      upstream({
        id: "ih",
        algorithm: "ip_hash",
        servers: [{ address: "10.0.3.1:80" }, { address: "10.0.3.2:80" }],
      }),
    ],
    virtualHosts: ["rr", "lc", "hc", "ih"].map((id, i) =>
      host(
        { id: `vh-${id}`, serverNames: [`${id}.example.com`], listenPort: 18080 + (i % 2) * 10 },
        {
          proxyPass: undefined,
          upstreamId: id,
          directives: { proxy_read_timeout: "5s", gzip: "off" },
        },
      ),
    ),
  });
  const reversed = <T>(items: readonly T[] | undefined): T[] => [...(items ?? [])].reverse();

  test("compiling twice gives identical bytes", () => {
    expect(conf(model())).toBe(conf(model()));
  });

  test("host, upstream, directive and non-semantic server order do not matter", () => {
    const m = model();
    const shuffled: NginxModel = {
      global: { directives: { client_max_body_size: "1m", gzip: "on" } },
      upstreams: reversed(m.upstreams).map((u) =>
        u.id === "ih" ? u : { ...u, servers: reversed(u.servers) },
      ),
      virtualHosts: reversed(m.virtualHosts).map((h) => ({
        ...h,
        locations: h.locations.map((l) => ({
          ...l,
          directives: { gzip: "off", proxy_read_timeout: "5s" },
        })),
      })),
    };
    expect(conf(shuffled)).toBe(conf(model()));
  });

  test("ip_hash and plain hash keep server order: it picks servers", () => {
    const m = model();
    const swap = (algorithm: "ip_hash" | "hash") => ({
      ...m,
      upstreams: m.upstreams?.map((u) =>
        u.id === "ih"
          ? {
              ...u,
              algorithm,
              hashKey: algorithm === "hash" ? "$uri" : null,
              servers: reversed(u.servers),
            }
          : u,
      ),
    });
    expect(conf(swap("ip_hash"))).not.toBe(conf(model()));
    expect(conf(swap("ip_hash"))).toContain("server 10.0.3.2:80;\n        server 10.0.3.1:80;");
    expect(conf(swap("hash"))).toContain("server 10.0.3.2:80;\n        server 10.0.3.1:80;");
  });

  test("down servers: order and unknown addresses do not matter", () => {
    const a = conf(model(), {
      downServers: { rr: ["10.0.0.1:80", "10.0.0.2:80"], nosuch: ["1.2.3.4:5"] },
    });
    const b = conf(model(), { downServers: { rr: ["10.0.0.2:80", "10.0.0.1:80", "9.9.9.9:1"] } });
    expect(a).toBe(b);
    expect(a).toContain("server 10.0.0.1:80 down;");
  });
});

describe("nginxFeatures", () => {
  test("reads nginx -V", () => {
    const v122 = nginxFeatures(
      "nginx version: nginx/1.22.1\nconfigure arguments: --with-http_ssl_module --with-http_v2_module --with-http_stub_status_module",
    );
    expect(v122).toEqual({
      version: "1.22.1",
      supportsHttp3: false,
      http2Directive: false,
      modules: ["http_ssl_module", "http_stub_status_module", "http_v2_module"],
    });
    const v126 = nginxFeatures(
      "nginx version: nginx/1.26.2\nconfigure arguments: --with-http_v3_module",
    );
    expect(v126.supportsHttp3).toBe(true);
    expect(v126.http2Directive).toBe(true);
    expect(nginxFeatures("nginx version: nginx/1.25.0 --with-http_v3_module").http2Directive).toBe(
      false,
    );
    expect(nginxFeatures("garbage").version).toBe("");
  });
});

describe("nginxModelFromRows", () => {
  const at = new Date("2026-01-01T00:00:00Z");
  const later = new Date("2026-02-01T00:00:00Z");
  const vh = (extra: Partial<VirtualHostRow>): VirtualHostRow => ({
    id: "vh-1",
    workspaceId: "ws-1",
    name: "site",
    serverName: "a.example.com www.a.example.com",
    listenPort: 18443,
    sslEnabled: true,
    sslCertificateId: "tc-1",
    http2Enabled: true,
    http3Enabled: false,
    locations: [
      {
        path: "/api",
        upstreamId: "up-1",
        customHeaders: [{ name: "X-Frame-Options", value: "DENY" }],
        rewrites: [{ pattern: "^/api/(.*)$", replacement: "/$1", flag: "break" }],
      },
    ],
    targetAgents: { type: "all" },
    createdAt: at,
    updatedAt: at,
    ...extra,
  });
  const up: UpstreamRow = {
    id: "up-1",
    workspaceId: "ws-1",
    name: "api backend",
    algorithm: "least_connections",
    hashKey: null,
    servers: [
      {
        address: "127.0.0.1:8080",
        weight: 1,
        backup: false,
        down: false,
        maxFails: 1,
        failTimeout: 10,
      },
    ],
    keepalive: 4,
    healthCheck: { enabled: true, path: "/health", interval: 10, timeout: 5 },
    createdAt: at,
    updatedAt: at,
  };

  test("rows compile and pass nginx -t; selectors and creation order apply", async () => {
    const model = nginxModelFromRows({
      virtualHosts: [
        vh({ id: "vh-new", createdAt: later }),
        vh({}),
        vh({
          id: "vh-gpu",
          serverName: "gpu.example.com",
          targetAgents: { type: "selector", labelSelector: "gpu=a100" },
        }),
      ],
      upstreams: [up],
      certificateFiles: () => ({
        certificatePath: prefix.certificatePath,
        keyPath: prefix.keyPath,
      }),
      agentLabels: { zone: "eu" },
    });
    expect(model.virtualHosts.map((h) => h.id)).toEqual(["vh-1", "vh-new"]);
    const result = compile(model);
    // Same names on the same port: the older host keeps them.
    expect(result.hosts.map((h) => [h.id, h.status])).toEqual([
      ["vh-1", "applied"],
      ["vh-new", "set_aside"],
    ]);
    const content = result.files[0]?.content ?? "";
    expect(content).toContain("server_name a.example.com www.a.example.com;");
    expect(content).toContain('add_header X-Frame-Options "DENY" always;');
    expect(content).toContain("proxy_http_version 1.1;");
    await passesNginx(content);
  });
});

describe("listen address", () => {
  test("virtual hosts and default servers listen on the given address; the status port stays on loopback", async () => {
    const v4 = conf({ virtualHosts: [host()] }, { listenAddress: "127.0.0.1" });
    expect(v4).toContain("listen 127.0.0.1:18080;");
    expect(v4).toContain("listen 127.0.0.1:18080 default_server;");
    expect(v4).not.toMatch(/listen 18080\b/);
    expect(v4).toContain("listen 127.0.0.1:18081;");
    expect(conf({ virtualHosts: [host()] }, { listenAddress: "::1" })).toContain(
      "listen [::1]:18080;",
    );
    await passesNginx(v4);
  });

  test("anything but an IP address is refused", () => {
    for (const bad of ["localhost", "127.0.0.1:80", "[::1]", "0.0.0.0; evil", ""]) {
      rejects(
        () => compile({ virtualHosts: [host()] }, { listenAddress: bad }),
        "options.listen_address",
      );
    }
  });
});

describe("ACME HTTP-01 challenges", () => {
  const challenges = { "tok-A_1": "tok-A_1.thumbprint-X", tokB: "tokB.thumbprint-X" };

  test("plain-HTTP hosts and default servers answer each token from the config; TLS hosts do not", async () => {
    const text = conf(
      {
        virtualHosts: [
          host({ id: "plain" }),
          host({
            id: "tls",
            serverNames: ["b.example.com"],
            listenPort: 18443,
            tls: {
              certificateId: "c1",
              certificatePath: prefix.certificatePath,
              keyPath: prefix.keyPath,
            },
          }),
        ],
      },
      { acmeChallenges: challenges },
    );
    const blocks = text.split(/\n\s*# /);
    const plain = blocks.find((b) => b.startsWith("Virtual host plain")) ?? "";
    const tls = blocks.find((b) => b.startsWith("Virtual host tls")) ?? "";
    const fallback = blocks.find((b) => b.startsWith("Port 18080")) ?? "";
    for (const block of [plain, fallback]) {
      expect(block).toContain("location = /.well-known/acme-challenge/tok-A_1 {");
      expect(block).toContain('return 200 "tok-A_1.thumbprint-X";');
      expect(block).toContain('return 200 "tokB.thumbprint-X";');
    }
    expect(tls).not.toContain("acme-challenge");
    expect(fallback).toMatch(/location \/ \{\s+return 444;/);
    expect(conf({ virtualHosts: [host()] })).not.toContain("acme-challenge");
    await passesNginx(text);
  });

  test("tokens and key authorizations outside base64url are refused", () => {
    const refused: Array<Record<string, string>> = [
      { "a/../b": "a.b" },
      { "a;b": "a.b" },
      { ok: 'x"; evil' },
      { ok: "no-dot" },
      { ok: "a.b c" },
    ];
    for (const bad of refused) {
      const error = expectDroverThrow(() =>
        compile({ virtualHosts: [host()] }, { acmeChallenges: bad }),
      );
      expect(error.details[0]?.field).toMatch(/^options\.acme_challenges/);
    }
  });
});
