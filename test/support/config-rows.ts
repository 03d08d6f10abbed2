/**
 * Rows of the configuration model as the desired-state compiler and the
 * delivery planner read them: one agent, upstreams, virtual hosts and
 * certificates of workspace w1, all at t0, each changed by `extra`.
 */
import type {
  AgentRow,
  TlsCertificateRow,
  UpstreamRow,
  VirtualHostRow,
} from "../../lib/store/index.ts";
import { t0 } from "./store-data.ts";

export const agentRow = (extra: Partial<AgentRow> = {}): AgentRow => ({
  id: "a1",
  name: "a1",
  hostname: "a1.lan",
  ip: "10.0.0.1",
  version: "1.0.0",
  labels: { env: "prod" },
  claimedLabels: {},
  capabilities: ["files"],
  deploymentMode: "standalone",
  state: "online",
  lastSeenAt: null,
  lastHealth: null,
  createdAt: t0,
  updatedAt: t0,
  workspaceId: "w1",
  ...extra,
});

export const upstreamServer = (
  address: string,
  extra: Partial<UpstreamRow["servers"][number]> = {},
) => ({
  address,
  weight: 1,
  backup: false,
  down: false,
  maxFails: 1,
  failTimeout: 10,
  ...extra,
});

export const upstreamRow = (id: string, extra: Partial<UpstreamRow> = {}): UpstreamRow => ({
  id,
  workspaceId: "w1",
  name: `upstream-${id}`,
  algorithm: "round_robin",
  hashKey: null,
  servers: [upstreamServer("10.0.0.5:8080")],
  keepalive: null,
  healthCheck: null,
  createdAt: t0,
  updatedAt: t0,
  ...extra,
});

export const virtualHostRow = (
  id: string,
  extra: Partial<VirtualHostRow> = {},
): VirtualHostRow => ({
  id,
  workspaceId: "w1",
  name: `vhost-${id}`,
  serverName: `${id}.example.com`,
  listenPort: 8080,
  sslEnabled: false,
  sslCertificateId: null,
  http2Enabled: false,
  http3Enabled: false,
  locations: [{ path: "/", proxyPass: "http://127.0.0.1:9000", customHeaders: [], rewrites: [] }],
  targetAgents: { type: "all" },
  createdAt: t0,
  updatedAt: t0,
  ...extra,
});

export const tlsCertificateRow = (id: string, workspaceId = "w1"): TlsCertificateRow => ({
  id,
  workspaceId,
  domain: `${id}.example.com`,
  isWildcard: false,
  provider: "letsencrypt",
  status: "active",
  statusMessage: null,
  issuedAt: null,
  expiresAt: null,
  autoRenew: false,
  createdAt: t0,
  updatedAt: t0,
});
