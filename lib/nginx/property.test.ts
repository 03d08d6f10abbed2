// Property: any string in any string field is either refused with a
// DroverError naming that field, or compiles to a file the real nginx accepts
// that holds no directive the model did not ask for, with the string read back
// by nginx's own tokenizer rules exactly as given.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import fc from "fast-check";
import { DroverError } from "../errors/index.ts";
import { compileNginxConfig } from "./compile.ts";
import type { NginxCompileOptions, NginxModel } from "./model.ts";
import { makePrefix, nginxTest, type Prefix, tokenize } from "./testing.ts";

let prefix: Prefix;
beforeAll(async () => {
  prefix = await makePrefix();
});
afterAll(() => prefix?.remove());

/** A model with every kind of string field in use. */
function baseModel(root: string): NginxModel {
  return {
    global: { accessLogPath: `${root}/logs/access.json`, directives: { gzip: "on" } },
    upstreams: [
      {
        id: "api",
        algorithm: "hash",
        hashKey: "$request_uri",
        keepalive: 4,
        servers: [{ address: "127.0.0.1:8080" }, { address: "localhost:8081", weight: 2 }],
      },
      {
        id: "web",
        servers: [{ address: "127.0.0.1:9000" }, { address: "127.0.0.2:9000", backup: true }],
      },
    ],
    virtualHosts: [
      {
        id: "vh-a",
        serverNames: ["a.example.com", "*.b.example.com"],
        listenPort: 18443,
        tls: {
          certificateId: "cert-a",
          certificatePath: `${root}/certs/a.pem`,
          keyPath: `${root}/keys/a.pem`,
        },
        http2: true,
        directives: { client_max_body_size: "10m" },
        locations: [
          {
            path: "/api",
            upstreamId: "api",
            headers: [
              { name: "X-Frame-Options", value: "DENY" },
              { name: "X-Client", value: "$remote_addr", direction: "request" },
            ],
            rewrites: [{ pattern: "^/api/v1/(.*)$", replacement: "/v1$uri", flag: "break" }],
            directives: { proxy_read_timeout: "30s" },
          },
          { path: "/ext", proxyPass: "http://127.0.0.1:7000/x" },
          { path: "/static", root: `${root}/www`, index: ["index.html"] },
        ],
      },
      {
        id: "vh-b",
        serverNames: ["plain.example.com"],
        listenPort: 18080,
        locations: [{ path: "/", upstreamId: "web" }],
      },
    ],
  };
}

type Mutable = {
  // biome-ignore lint/suspicious/noExplicitAny: test-only deep writes into the cloned model
  [key: string]: any;
};

interface Field {
  /** The field path errors must name. */
  field: (s: string) => string;
  /** Plausible values, the start of near misses. */
  valid: string[];
  set: (model: Mutable, s: string, root: string) => void;
  /** The value nginx must read back as one whole argument (when every host is applied). */
  echo?: (s: string, root: string) => string;
}

const host0 = (m: Mutable) => m.virtualHosts[0];
const loc = (m: Mutable, i: number) => m.virtualHosts[0].locations[i];
const same = (s: string) => s;

const fields: Field[] = [
  {
    field: () => "global.access_log_path",
    valid: ["a.log", "x/y.json", "access.log"],
    set: (m, s, r) => {
      m.global.accessLogPath = `${r}/logs/${s}`;
    },
    echo: (s, r) => `${r}/logs/${s}`,
  },
  {
    field: (s) => `global.directives.${s}`,
    valid: ["gzip", "proxy_buffering", "include", "client_max_body_size"],
    set: (m, s) => {
      m.global.directives = { [s]: "on" };
    },
  },
  {
    field: () => "global.directives.gzip",
    valid: ["on", "off"],
    set: (m, s) => {
      m.global.directives.gzip = s;
    },
    echo: same,
  },
  {
    // Taking the other host's id: the duplicate (the later one) is named.
    field: (s) => (s === "vh-b" ? "virtual_hosts.1.id" : "virtual_hosts.0.id"),
    valid: ["vh-x1", "a.b_c", "vh-b"],
    set: (m, s) => {
      host0(m).id = s;
    },
  },
  {
    field: () => "virtual_hosts.0.server_names.1",
    valid: ["x.example.com", "*.y.org", "a.example.com", "plain.example.com"],
    set: (m, s) => {
      host0(m).serverNames[1] = s;
    },
    echo: same,
  },
  {
    field: () => "virtual_hosts.1.server_names.0",
    valid: ["x.example.com", "*.y.org", "a.example.com"],
    set: (m, s) => {
      m.virtualHosts[1].serverNames[0] = s;
    },
    echo: same,
  },
  {
    field: () => "virtual_hosts.0.tls.certificate_id",
    valid: ["cert-b", "c1"],
    set: (m, s) => {
      host0(m).tls.certificateId = s;
    },
  },
  {
    field: () => "virtual_hosts.0.tls.certificate_path",
    valid: ["c.pem", "x/fullchain.pem"],
    set: (m, s, r) => {
      host0(m).tls.certificatePath = `${r}/certs/${s}`;
    },
    echo: (s, r) => `${r}/certs/${s}`,
  },
  {
    field: () => "virtual_hosts.0.tls.key_path",
    valid: ["k.pem", "x/privkey.pem"],
    set: (m, s, r) => {
      host0(m).tls.keyPath = `${r}/keys/${s}`;
    },
    echo: (s, r) => `${r}/keys/${s}`,
  },
  {
    field: () => "virtual_hosts.0.directives.client_max_body_size",
    valid: ["1m", "0", "2g", "512k"],
    set: (m, s) => {
      host0(m).directives.client_max_body_size = s;
    },
    echo: same,
  },
  {
    // Taking another location's path: the duplicate (the later one) is named.
    field: (s) => `virtual_hosts.0.locations.${s === "/ext" ? 1 : s === "/static" ? 2 : 0}.path`,
    valid: ["/a/b", '/x"y', "/ü", "/#a", "/ext", "/it's"],
    set: (m, s) => {
      loc(m, 0).path = s;
    },
    echo: same,
  },
  {
    field: () => "virtual_hosts.0.locations.0.upstream_id",
    valid: ["api", "web"],
    set: (m, s) => {
      loc(m, 0).upstreamId = s;
    },
  },
  {
    field: () => "virtual_hosts.0.locations.0.headers.0.name",
    valid: ["X-A", "x'y", "X#A", "Cache-Control"],
    set: (m, s) => {
      loc(m, 0).headers[0].name = s;
    },
    echo: same,
  },
  {
    field: () => "virtual_hosts.0.locations.0.headers.0.value",
    valid: ["a b; c", "$host x", '"q"', "\\", "max-age=1; preload"],
    set: (m, s) => {
      loc(m, 0).headers[0].value = s;
    },
    echo: same,
  },
  {
    field: () => "virtual_hosts.0.locations.0.headers.0.direction",
    valid: ["request", "response"],
    set: (m, s) => {
      loc(m, 0).headers[0].direction = s;
    },
  },
  {
    field: () => "virtual_hosts.0.locations.0.headers.1.name",
    valid: ["Host", "X-B", "Connection"],
    set: (m, s) => {
      loc(m, 0).headers[1].name = s;
    },
    echo: same,
  },
  {
    field: () => "virtual_hosts.0.locations.0.headers.1.value",
    valid: ["a b; c", "$scheme://$host", '"q"'],
    set: (m, s) => {
      loc(m, 0).headers[1].value = s;
    },
    echo: same,
  },
  {
    field: () => "virtual_hosts.0.locations.0.rewrites.0.pattern",
    valid: ["^/(a)$", "a{2}", "[a-z]+", "\\.php$", '(x|y)"z"'],
    set: (m, s) => {
      loc(m, 0).rewrites[0].pattern = s;
    },
    echo: same,
  },
  {
    field: () => "virtual_hosts.0.locations.0.rewrites.0.replacement",
    valid: ["/x$uri", "/y?$args", "https://$host/z", '/"q"'],
    set: (m, s) => {
      loc(m, 0).rewrites[0].replacement = s;
    },
    echo: same,
  },
  {
    field: () => "virtual_hosts.0.locations.0.rewrites.0.flag",
    valid: ["last", "break", "redirect", "permanent"],
    set: (m, s) => {
      loc(m, 0).rewrites[0].flag = s;
    },
  },
  {
    field: () => "virtual_hosts.0.locations.0.directives.proxy_read_timeout",
    valid: ["5s", "100ms", "1h"],
    set: (m, s) => {
      loc(m, 0).directives.proxy_read_timeout = s;
    },
    echo: same,
  },
  {
    field: () => "virtual_hosts.0.locations.1.proxy_pass",
    valid: [
      "http://127.0.0.1:81/a?b=c",
      "HTTPS://[::1]:8443/",
      "http://localhost",
      "http://far.example/",
    ],
    set: (m, s) => {
      loc(m, 1).proxyPass = s;
    },
  },
  {
    field: () => "virtual_hosts.0.locations.2.root",
    valid: ["a/b", "site"],
    set: (m, s, r) => {
      loc(m, 2).root = `${r}/www/${s}`;
    },
    echo: (s, r) => `${r}/www/${s}`,
  },
  {
    field: () => "virtual_hosts.0.locations.2.index.0",
    valid: ["index.php", "a.html"],
    set: (m, s) => {
      loc(m, 2).index[0] = s;
    },
    echo: same,
  },
  // Renaming an upstream renames its reference too, so only the id's own grammar is at stake.
  {
    field: () => "upstreams.1.id",
    valid: ["x", "web-2", "api"],
    set: (m, s) => {
      m.upstreams[1].id = s;
      m.virtualHosts[1].locations[0].upstreamId = s;
    },
  },
  {
    field: () => "upstreams.0.hash_key",
    valid: ["$remote_addr$uri", "k$host", "static"],
    set: (m, s) => {
      m.upstreams[0].hashKey = s;
    },
    echo: same,
  },
  {
    field: () => "upstreams.0.servers.0.address",
    valid: ["127.0.0.3:1", "[::2]:80", "localhost:99", "nope.example:80"],
    set: (m, s) => {
      m.upstreams[0].servers[0].address = s;
    },
    echo: same,
  },
  {
    field: () => "upstreams.1.servers.1.address",
    valid: ["127.0.0.3:1", "[::2]:80", "localhost:99"],
    set: (m, s) => {
      m.upstreams[1].servers[1].address = s;
    },
    echo: same,
  },
];

/** Pieces that break configuration files, mixed with pieces that make valid values. */
const piece = fc.constantFrom(
  ";",
  "{",
  "}",
  "\n",
  "\r",
  "\t",
  " ",
  '"',
  "'",
  "\\",
  "$",
  "#",
  "`",
  "\u0000",
  "é",
  "😀",
  "\ud800",
  "$host",
  "$nosuch",
  "$1",
  "$http_x_a",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: nginx's ${var} form, refused on purpose
  "${host}",
  "(",
  ")",
  "[",
  "]",
  "?",
  "*",
  "+",
  "^",
  "|",
  "a",
  "Z",
  "0",
  "9",
  "-",
  "_",
  ".",
  "/",
  ":",
  "@",
  "%",
  "=",
  ",",
  "~",
  "!",
  "&",
  "*.",
  "example.com",
  "127.0.0.1",
  "[::1]",
  ":8080",
  "http://",
  "localhost",
  "10m",
  "30s",
  "on",
  "off",
  "last",
  "break",
  "request",
  "index.html",
  "/api",
);
const nasty = fc.array(piece, { minLength: 0, maxLength: 8 }).map((parts) => parts.join(""));
/** Random strings, and a field's plausible values with a random piece put in or around. */
function stringsFor(spec: Field) {
  const valid = fc.constantFrom(...spec.valid);
  const nearMiss = fc
    .tuple(valid, piece, fc.nat(), fc.boolean())
    .map(([value, inserted, at, prepend]) => {
      const i = prepend ? 0 : at % (value.length + 1);
      return `${value.slice(0, i)}${inserted}${value.slice(i)}`;
    });
  return fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 3, arbitrary: nearMiss },
    { weight: 3, arbitrary: nasty },
    { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  );
}

/** Directive names the compiler may write for any model, plus the model's own custom ones. */
const vocabulary = new Set(
  (
    "user worker_processes pid error_log events worker_connections http include default_type server_tokens " +
    "client_body_temp_path proxy_temp_path fastcgi_temp_path uwsgi_temp_path scgi_temp_path " +
    "server_names_hash_bucket_size server_names_hash_max_size proxy_headers_hash_bucket_size log_format access_log " +
    "ssl_protocols proxy_set_header upstream least_conn ip_hash hash server keepalive listen ssl_reject_handshake " +
    "return server_name ssl_certificate ssl_certificate_key add_header location rewrite proxy_pass root index " +
    "proxy_http_version stub_status allow deny"
  ).split(" "),
);

function allowedNames(model: NginxModel): Set<string> {
  const names = new Set(vocabulary);
  const add = (directives: object | undefined) => {
    for (const name of Object.keys(directives ?? {})) names.add(name);
  };
  add(model.global?.directives);
  for (const host of model.virtualHosts) {
    add(host.directives);
    for (const location of host.locations) add(location.directives);
  }
  return names;
}

test("random strings in every string field: refused by name, or accepted by nginx as given", async () => {
  const root = prefix.dir;
  let accepted = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(
      fc
        .nat({ max: fields.length - 1 })
        .chain((index) => fc.tuple(fc.constant(index), stringsFor(fields[index] as Field))),
      async ([index, s]) => {
        const spec = fields[index] as Field;
        // Files of one run (certificates, logs) never stand in the way of the next.
        const runRoot = `${root}/r${accepted + refused}`;
        const model = structuredClone(baseModel(runRoot)) as Mutable;
        spec.set(model, s, runRoot);
        const options: NginxCompileOptions = {
          statusPort: 18081,
          resolvable: (host) => host === "localhost",
          certificateAvailable: () => true,
          runtime: {
            pidPath: `${root}/nginx.pid`,
            errorLogPath: `${root}/logs/error.log`,
            tempDir: `${root}/tmp`,
          },
        };
        let result: ReturnType<typeof compileNginxConfig>;
        try {
          result = compileNginxConfig(model as NginxModel, options);
        } catch (error) {
          expect(error).toBeInstanceOf(DroverError);
          expect((error as DroverError).code).toBe("invalid_argument");
          expect((error as DroverError).details[0]?.field).toBe(spec.field(s));
          refused += 1;
          return;
        }
        accepted += 1;
        const content = result.files[0]?.content ?? "";

        // Directives: only those the compiler writes and those the model asked for.
        const statements = tokenize(content);
        const allowed = allowedNames(model as NginxModel);
        for (const statement of statements) expect(allowed).toContain(statement.name);

        // The string reads back whole, exactly (when nothing was set aside or left out).
        const everything =
          result.hosts.every((h) => h.status === "applied") &&
          result.upstreams.every((u) => u.status !== "applied" || u.skippedServers.length === 0);
        if (spec.echo && everything) {
          const args = new Set(
            statements.flatMap((st) => [
              st.name,
              ...st.args,
              ...st.args.flatMap((a) => a.split(" ")),
            ]),
          );
          expect(args).toContain(spec.echo(s, runRoot));
        }

        // The files nginx opens exist, as the agent would have them.
        for (const host of (model as NginxModel).virtualHosts) {
          if (host.tls && result.hosts.find((h) => h.id === host.id)?.status === "applied") {
            await prefix.placeCertificate(host.tls.certificatePath, host.tls.keyPath);
          }
        }
        const log = (model as NginxModel).global?.accessLogPath;
        if (log) await mkdir(dirname(log), { recursive: true });

        const check = await nginxTest(root, result.files);
        if (!check.ok || check.output !== "") {
          throw new Error(
            `nginx -t refused field ${spec.field(s)} = ${JSON.stringify(s)}:\n${check.output}\n${content}`,
          );
        }
      },
    ),
    { numRuns: Number(process.env.NGINX_PROPERTY_RUNS ?? 100) },
  );
  // Both sides of the property were exercised.
  expect(accepted).toBeGreaterThan(5);
  expect(refused).toBeGreaterThan(5);
});
