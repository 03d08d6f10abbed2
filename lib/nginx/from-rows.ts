import { type Labels, matchesSelector, parseSelector } from "../selector/index.ts";
import type { UpstreamRow, VirtualHostRow } from "../store/index.ts";
import type { NginxGlobalSettings, NginxModel } from "./model.ts";

export interface NginxRowsInput {
  virtualHosts: readonly VirtualHostRow[];
  upstreams: readonly UpstreamRow[];
  global?: NginxGlobalSettings;
  /** Where the agent keeps a TLS certificate's PEM files. */
  certificateFiles: (certificateId: string) => { certificatePath: string; keyPath: string };
  /** Only the virtual hosts whose target_agents match these labels; absent: all. */
  agentLabels?: Labels;
}

/**
 * The stored rows as a compiler model. Stored custom headers are response
 * headers (add_header); a location's index is its space-separated names;
 * locations keep their order. Hosts are listed oldest
 * first, so a new host that clashes with an existing one on a port or a name
 * is the one set aside. A host whose
 * target_agents selector does not match agentLabels is left out.
 */
export function nginxModelFromRows(input: NginxRowsInput): NginxModel {
  const labels = input.agentLabels;
  // Oldest first: when two hosts clash on a port or name, the compiler keeps the first.
  const hosts = [...input.virtualHosts]
    .sort(
      (a, b) =>
        a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    )
    .filter(
      (row) =>
        labels === undefined ||
        row.targetAgents.type === "all" ||
        matchesSelector(parseSelector(row.targetAgents.labelSelector), labels),
    );
  return {
    ...(input.global === undefined ? {} : { global: input.global }),
    virtualHosts: hosts.map((row) => ({
      id: row.id,
      serverNames: row.serverName.split(" "),
      listenPort: row.listenPort,
      tls:
        row.sslEnabled && row.sslCertificateId !== null
          ? { certificateId: row.sslCertificateId, ...input.certificateFiles(row.sslCertificateId) }
          : null,
      http2: row.http2Enabled,
      http3: row.http3Enabled,
      ...(row.customDirectives ? { directives: row.customDirectives } : {}),
      locations: row.locations.map((location) => ({
        path: location.path,
        ...(location.proxyPass === undefined ? {} : { proxyPass: location.proxyPass }),
        ...(location.upstreamId === undefined ? {} : { upstreamId: location.upstreamId }),
        ...(location.root === undefined ? {} : { root: location.root }),
        ...(location.index === undefined ? {} : { index: location.index.split(" ") }),
        headers: location.customHeaders.map(({ name, value, always }) => ({
          name,
          value,
          ...(always === undefined ? {} : { always }),
        })),
        rewrites: location.rewrites.map(({ pattern, replacement, flag }) => ({
          pattern,
          replacement,
          flag,
        })),
        ...(location.customDirectives === undefined
          ? {}
          : { directives: location.customDirectives }),
      })),
    })),
    upstreams: input.upstreams.map((row) => ({
      id: row.id,
      algorithm: row.algorithm,
      hashKey: row.hashKey,
      servers: row.servers.map((server) => ({ ...server })),
      keepalive: row.keepalive,
      healthCheck: row.healthCheck,
    })),
  };
}
