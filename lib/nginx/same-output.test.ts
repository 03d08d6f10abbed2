// Issue 13 (nginx compile of 10k hosts < 200 ms): a large, varied fleet compiles to the same bytes and outcomes as the compiler before its speed-up.
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { nginxBenchModel } from "../../bench/nginx-compile.ts";
import { isDroverError } from "../errors/index.ts";
import { compileNginxConfig } from "./compile.ts";
import { checkFilePath } from "./grammar.ts";
import type {
  NginxCompileOptions,
  NginxDirectives,
  NginxHeader,
  NginxLocation,
  NginxModel,
  NginxUpstream,
  NginxVirtualHost,
} from "./model.ts";

/**
 * The digests below were captured once from the compiler at commit 96a02f6
 * (before issue 13's speed-up) over the same generated models. A change of
 * output, outcomes or error text changes a digest; if a change is meant,
 * print the new digests (DIGESTS=1) and say why in the commit.
 */

/** mulberry32: a small seeded generator, the same sequence on every runtime. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const headerNames = ["X-Frame-Options", "Host", "x-real-ip", "Connection", "Alt-Svc", "X-Trace"];
const headerValues = [
  "SAMEORIGIN",
  "$host",
  'max-age=63072000; includeSubDomains; "preload"',
  "a\\b",
  "$http_x_thing-$request_id",
  "",
  "default-src 'self'",
];
const rewrites = [
  { pattern: "^/old/(.*)$", replacement: "/new/$1", flag: "permanent" as const },
  { pattern: "^/legacy/(.*)\\.php$", replacement: "/legacy/$1", flag: "last" as const },
  { pattern: "^/(a|b)/([0-9]{1,4})$", replacement: "/x?id=$2&k=$1", flag: "break" as const },
  { pattern: "^/r$", replacement: "https://example.org$request_uri", flag: "redirect" as const },
];
const directiveSets: ReadonlyArray<NginxDirectives | undefined> = [
  undefined,
  { client_max_body_size: "10m" },
  { proxy_read_timeout: "120s", proxy_buffering: "off", gzip: "off" },
  { keepalive_timeout: "75s", client_max_body_size: "0" },
];
const locationPaths = ["/", "/api/", "/static", "/ünï-cödé/", "/q'uote#", "/legacy/"];

/**
 * A fleet using every feature the compiler has: each algorithm and server
 * option, TLS, HTTP/2 and HTTP/3, every location target, headers that replace
 * the defaults, rewrites, directives at every level; and hosts that must be
 * set aside (clashing ports and names, missing certificates, names that do not
 * resolve, the status port, unusable upstreams) or are invalid.
 */
function variedModel(hosts: number, seed: number): NginxModel {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const upstreams: NginxUpstream[] = Array.from({ length: 64 }, (_, i) => {
    const algorithm = pick(["round_robin", "least_connections", "ip_hash", "hash"] as const);
    const hashing = algorithm === "hash" || algorithm === "ip_hash";
    const servers = Array.from({ length: 1 + (i % 4) }, (_, s) => ({
      address:
        s === 3
          ? `backend-${i}.${i % 2 === 0 ? "internal" : "invalid"}:80`
          : `10.1.${i}.${s + 1}:${8080 + s}`,
      ...(next() < 0.3 ? { weight: 1 + Math.floor(next() * 9) } : {}),
      ...(next() < 0.2 ? { maxFails: Math.floor(next() * 4) } : {}),
      ...(next() < 0.2 ? { failTimeout: 1 + Math.floor(next() * 60) } : {}),
      ...(s > 0 && !hashing && next() < 0.3 ? { backup: true } : {}),
      ...(next() < 0.1 ? { down: true } : {}),
    }));
    return {
      id: `up-${i}`,
      algorithm,
      ...(algorithm === "hash" ? { hashKey: "$request_uri", hashConsistent: next() < 0.5 } : {}),
      ...(next() < 0.5 ? { keepalive: Math.floor(next() * 32) } : {}),
      servers: i === 7 ? [{ address: "gone.invalid:80" }] : servers,
    };
  });
  // Invalid: set aside, or refused. up-60 to up-63 are never used.
  upstreams.push({ id: "bad upstream", servers: [] });
  const virtualHosts: NginxVirtualHost[] = Array.from({ length: hosts }, (_, i) => {
    const port = pick([80, 443, 8443, 8080, 9090]);
    const tls =
      port === 443 || port === 8443 || (port === 9090 && next() < 0.5)
        ? {
            certificateId: `cert-${i % 97}`,
            certificatePath: `/var/lib/drover/tls/${i % 97 === 5 ? "missing" : "c"}-${i % 97}.crt`,
            keyPath: `/var/lib/drover/tls/k-${i % 97}.key`,
          }
        : null;
    const locations: NginxLocation[] = [];
    // A Fisher-Yates shuffle: sort() with a random comparator differs between engines.
    const paths = [...locationPaths];
    for (let k = paths.length - 1; k > 0; k -= 1) {
      const j = Math.floor(next() * (k + 1));
      [paths[k], paths[j]] = [paths[j] as string, paths[k] as string];
    }
    paths.length = Math.floor(next() * 4);
    for (const path of paths) {
      const kind = next();
      const headers: NginxHeader[] = [];
      for (let h = Math.floor(next() * 4); h > 0; h -= 1) {
        const name = pick(headerNames);
        if (headers.some((header) => header.name.toLowerCase() === name.toLowerCase())) continue;
        const request = next() < 0.4;
        headers.push({
          name,
          value: pick(headerValues),
          ...(request ? { direction: "request" as const } : {}),
          ...(!request && next() < 0.3 ? { always: false } : {}),
        });
      }
      locations.push({
        path,
        ...(kind < 0.45
          ? { upstreamId: `up-${Math.floor(next() * 60)}` }
          : kind < 0.8
            ? {
                proxyPass: pick([
                  "http://127.0.0.1:9000/",
                  "HTTPS://[::1]:8443/x?y=1",
                  "http://app.internal",
                  "http://unresolvable.invalid/",
                ]),
              }
            : {
                root: `/srv/www/site-${i % 13}`,
                ...(next() < 0.5 ? { index: ["index.html", "a+b.htm"] } : {}),
              }),
        headers,
        rewrites: next() < 0.3 ? [pick(rewrites)] : [],
        ...(next() < 0.3 ? { directives: pick(directiveSets) } : {}),
      });
    }
    const names = [`site-${i % 900}.example.com`];
    if (next() < 0.4) names.push(`*.s${i}.example.org`);
    if (next() < 0.05) names.push(`${"long-label-".repeat(5)}x${i}.example.net`);
    return {
      id: i % 211 === 3 ? `bad id ${i}` : `vh-${String((i * 7919) % 100_003).padStart(6, "0")}`,
      serverNames: names,
      listenPort: i % 499 === 11 ? 8081 : port,
      tls,
      http2: next() < 0.5,
      http3: tls !== null && next() < 0.3,
      locations,
      ...(next() < 0.3 ? { directives: pick(directiveSets) } : {}),
    };
  });
  return {
    global: {
      workerProcesses: seed % 2 === 0 ? "auto" : 4,
      workerConnections: 4096,
      accessLogPath: seed % 3 === 0 ? null : "/var/log/drover/access.json",
      directives: { gzip: "on", client_max_body_size: "1m" },
      env: { TZ: "UTC", APP_MODE: 'with "quotes" and \\ backslash' },
    },
    upstreams,
    virtualHosts,
  };
}

function options(extra: Partial<NginxCompileOptions>): NginxCompileOptions {
  return {
    statusPort: 8081,
    resolvable: (host) => !host.endsWith(".invalid"),
    certificateAvailable: (certificate) => !certificate.certificatePath.includes("missing"),
    invalid: "set_aside",
    downServers: { "up-1": ["10.1.1.1:8080"], "up-2": ["10.1.2.2:8081", "nowhere:1"] },
    ...extra,
  };
}

/** sha256 of everything a compile returns, or of the error it throws. */
function digest(model: NginxModel, compileOptions: NginxCompileOptions): string {
  let result: unknown;
  try {
    result = compileNginxConfig(model, compileOptions);
  } catch (error) {
    if (!isDroverError(error)) throw error;
    result = { error: error.message, details: error.details };
  }
  return createHash("sha256").update(JSON.stringify(result)).digest("hex");
}

const cases: Record<string, () => string> = {
  "main layout, 3,000 hosts": () => digest(variedModel(3000, 1), options({})),
  "main layout, HTTP/3, http2 directive, listen address, ACME": () =>
    digest(
      variedModel(3000, 2),
      options({
        supportsHttp3: true,
        http2Directive: true,
        listenAddress: "2001:db8::1",
        acmeChallenges: { tok_1: "tok_1.thumb", "tok-0": "tok-0.thumb" },
        runtime: {
          pidPath: "/run/drover/nginx.pid",
          errorLogPath: "/var/log/drover/error.log",
          tempDir: "/var/lib/drover/tmp",
          mimeTypesPath: "/etc/nginx/mime.types",
          user: "www-data",
        },
      }),
    ),
  "include layout, default servers, ACME": () =>
    digest(
      variedModel(3000, 3),
      options({
        layout: "include",
        defaultServers: true,
        supportsHttp3: true,
        listenAddress: "192.0.2.7",
        acmeChallenges: { abc: "abc.def" },
      }),
    ),
  "include layout without default servers": () =>
    digest(variedModel(2000, 4), options({ layout: "include" })),
  "invalid input refused (first error)": () =>
    digest(variedModel(500, 5), options({ invalid: "reject" })),
  "include layout with no http-level directive": () =>
    digest(
      {
        virtualHosts: [{ id: "a", serverNames: ["a.example.com"], listenPort: 80, locations: [] }],
      },
      options({ layout: "include" }),
    ),
  "the bench's 10,000 hosts": () =>
    digest(nginxBenchModel(10_000), {
      statusPort: 8081,
      resolvable: () => true,
      certificateAvailable: () => true,
    }),
};

const expected: Record<string, string> = {
  "main layout, 3,000 hosts": "1fcd611aa86895c820c2391adabaf029a54860ab01950f0f1dc43df91083200f",
  "main layout, HTTP/3, http2 directive, listen address, ACME":
    "066bfefa45c39420c3970446ae05a08f91c13936746b30bad5b7ec3db48304c7",
  "include layout, default servers, ACME":
    "101288408e476e4c04bbd5db324230abd5b6914827f1f8fab4f43e3d49d5450b",
  "include layout without default servers":
    "067710c74cb3a1cda3b38779c39a7bf473125dcc2e2d275c5a2d80165830e3c8",
  "invalid input refused (first error)":
    "613a51b76fd7b212aa2b9867a4c18c8c24932a1a984d6f5e3e6f156fa9ae33cd",
  "include layout with no http-level directive":
    "4f1ae84f913649a045c367d67ab6f5bd169c446b6f52a297c43e6a6a9d7b3c67",
  "the bench's 10,000 hosts": "e13ddebfa1a5097d9cc8a47830ed47fa3361f74ad46fa599aa8f3f864e791336",
};

describe("the compiler's output is unchanged", () => {
  if (process.env.DIGESTS === "1") {
    test("print digests", () => {
      for (const [name, run] of Object.entries(cases)) console.log(JSON.stringify(name), run());
    });
    return;
  }
  for (const [name, run] of Object.entries(cases)) {
    test(name, () => {
      expect(run()).toBe(expected[name] as string);
    });
  }
});

test("checkFilePath accepts exactly the paths the segment-by-segment rule did", () => {
  // The rule before issue 13, kept here as the oracle.
  const segment = /^[A-Za-z0-9._~+@=,-]+$/;
  const before = (value: string) => {
    const parts = value.split("/");
    return !(
      value.length > 1024 ||
      parts[0] !== "" ||
      parts.length < 2 ||
      parts.slice(1).some((part) => !segment.test(part) || part === "." || part === "..")
    );
  };
  const accepts = (value: string) => {
    try {
      checkFilePath("path", value);
      return true;
    } catch (error) {
      if (!isDroverError(error)) throw error;
      return false;
    }
  };
  const pieces = fc.constantFrom("/", ".", "..", "a", "Z9", "_~+@=,-", "$", " ", "é", "//", "x.y");
  fc.assert(
    fc.property(fc.array(pieces, { maxLength: 12 }), (parts) => {
      const value = parts.join("");
      expect(accepts(value)).toBe(before(value));
    }),
    { numRuns: 5000 },
  );
  for (const value of ["/", "/a/", "/a/./b", "/a/../b", "/a/...", "/.x", `/${"a".repeat(1024)}`]) {
    expect(accepts(value)).toBe(before(value));
  }
});
