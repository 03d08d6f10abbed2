import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  compileNginxConfig,
  type NginxCompileOptions,
  type NginxModel,
} from "../lib/nginx/index.ts";
import type { SummaryRow } from "./registration.ts";
import { fmtBytes, fmtMs, fmtNumber, fmtRatio, median, now, printTable } from "./table.ts";

const rounds = 7;
const upstreamCount = 1000;

/**
 * A fleet-sized model: `hosts` virtual hosts (half TLS with HTTP/2, two names
 * each, two locations: an upstream with keepalive and a proxy_pass with a
 * rewrite and headers) over 1,000 upstreams of three servers.
 */
export function nginxBenchModel(hosts: number): NginxModel {
  return {
    global: { accessLogPath: "/var/log/drover/access.json", directives: { gzip: "on" } },
    upstreams: Array.from({ length: upstreamCount }, (_, i) => ({
      id: `up-${i}`,
      algorithm: i % 3 === 0 ? ("least_connections" as const) : ("round_robin" as const),
      keepalive: i % 2 === 0 ? 16 : null,
      servers: [0, 1, 2].map((s) => ({
        address: `10.${(i >> 8) & 255}.${i & 255}.${s + 1}:8080`,
        weight: s + 1,
        backup: s === 2,
      })),
    })),
    virtualHosts: Array.from({ length: hosts }, (_, i) => ({
      id: `vh-${String(i).padStart(6, "0")}`,
      serverNames: [`site-${i}.example.com`, `www.site-${i}.example.com`],
      listenPort: i % 2 === 0 ? 443 : 80,
      tls:
        i % 2 === 0
          ? {
              certificateId: `tc-${i}`,
              certificatePath: `/var/lib/drover/tls/tc-${i}.crt`,
              keyPath: `/var/lib/drover/tls/tc-${i}.key`,
            }
          : null,
      http2: i % 2 === 0,
      locations: [
        {
          path: "/",
          upstreamId: `up-${i % upstreamCount}`,
          headers: [{ name: "X-Frame-Options", value: "SAMEORIGIN" }],
        },
        {
          path: "/legacy/",
          proxyPass: "http://127.0.0.1:9000/",
          rewrites: [{ pattern: "^/legacy/(.*)\\.php$", replacement: "/legacy/$1", flag: "last" }],
          headers: [{ name: "X-Tenant", value: `tenant-${i}`, direction: "request" }],
        },
      ],
    })),
  };
}

const options: NginxCompileOptions = {
  statusPort: 8081,
  resolvable: () => true,
  certificateAvailable: () => true,
};

/**
 * Compiles `hosts` virtual hosts (default 10,000) `rounds` times and compares
 * the median with writing the same bytes to a file (the agent's next step),
 * measured in the same run.
 */
export async function benchNginxCompile(hosts = 10_000): Promise<SummaryRow[]> {
  const model = nginxBenchModel(hosts);
  let content = compileNginxConfig(model, options).files[0]?.content ?? ""; // warm-up
  const compileMs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < rounds; i += 1) {
    const start = now();
    content = compileNginxConfig(model, options).files[0]?.content ?? "";
    // Reading every character is timed too: a string returned as an unflattened
    // rope would otherwise leave part of its building to the first reader.
    bytes = Buffer.byteLength(content);
    compileMs.push(now() - start);
  }

  const dir = await mkdtemp(join(tmpdir(), "drover-bench-nginx-"));
  const writeMs: number[] = [];
  try {
    const path = join(dir, "nginx.conf");
    await writeFile(path, content); // warm-up
    for (let i = 0; i < rounds; i += 1) {
      const start = now();
      await writeFile(path, content);
      writeMs.push(now() - start);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const compile = median(compileMs);
  const write = median(writeMs);
  printTable({
    title: `nginx compiler: ${hosts} virtual hosts, ${upstreamCount} upstreams (median of ${rounds})`,
    headers: ["step", "time", "bytes", "throughput", "per host"],
    rows: [
      [
        "compileNginxConfig (validate + plan + emit)",
        fmtMs(compile),
        fmtBytes(bytes),
        `${fmtNumber(bytes / 1024 / 1024 / (compile / 1000))} MiB/s`,
        `${fmtNumber((compile * 1000) / hosts)} µs`,
      ],
      [
        "writeFile of the same bytes (baseline)",
        fmtMs(write),
        fmtBytes(bytes),
        `${fmtNumber(bytes / 1024 / 1024 / (write / 1000))} MiB/s`,
        `${fmtNumber((write * 1000) / hosts)} µs`,
      ],
    ],
    notes: [
      "Both measured in this run on this machine; the write goes to the OS temp dir (page cache, no fsync).",
    ],
  });
  return [
    {
      metric: `nginx.conf compile, ${hosts} hosts (${fmtBytes(bytes)})`,
      value: fmtMs(compile),
      baseline: `${fmtMs(write)} writeFile`,
      ratio: fmtRatio(compile / write),
    },
  ];
}

if (import.meta.main) {
  await benchNginxCompile(Number(process.argv[2] ?? 10_000));
}
