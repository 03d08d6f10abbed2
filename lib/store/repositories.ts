import { createAccessLogRepository } from "./access-logs.ts";
import { createAgentFileRepository } from "./agent-files.ts";
import { createAgentTelemetryRepository } from "./agent-telemetry.ts";
import { createAgentTlsCertificateRepository } from "./agent-tls-certificates.ts";
import { createAgentRepository } from "./agents.ts";
import { createCertificateRepository } from "./certificates.ts";
import { createConfigStatusRepository } from "./config-status.ts";
import { createEventRepository } from "./events.ts";
import { createExporterRepository } from "./exporters.ts";
import { createJoinTokenRepository } from "./join-tokens.ts";
import { createLeasePolicyRepository } from "./lease-policies.ts";
import { createLeaseRepository } from "./leases.ts";
import { createMembershipRepository } from "./memberships.ts";
import { createOrganizationRepository } from "./organizations.ts";
import { createRefreshTokenRepository } from "./refresh-tokens.ts";
import { createRetentionRepository } from "./retention.ts";
import { type Runner, translating } from "./runner.ts";
import { createTlsCertificateRepository } from "./tls-certificates.ts";
import type { Repositories } from "./types.ts";
import { createUpstreamRepository } from "./upstreams.ts";
import { createUserRepository } from "./users.ts";
import { createVirtualHostRepository } from "./virtual-hosts.ts";
import { createWorkspaceRepository } from "./workspaces.ts";

/** The same repositories over any runner: the locked store, or an open transaction. */
export function createRepositories(run: Runner): Repositories {
  const exec = translating(run);
  return {
    certificates: createCertificateRepository(exec),
    joinTokens: createJoinTokenRepository(exec),
    agents: createAgentRepository(exec),
    events: createEventRepository(exec),
    users: createUserRepository(exec),
    organizations: createOrganizationRepository(exec),
    memberships: createMembershipRepository(exec),
    workspaces: createWorkspaceRepository(exec),
    refreshTokens: createRefreshTokenRepository(exec),
    tlsCertificates: createTlsCertificateRepository(exec),
    upstreams: createUpstreamRepository(exec),
    virtualHosts: createVirtualHostRepository(exec),
    accessLogs: createAccessLogRepository(exec),
    configStatus: createConfigStatusRepository(exec),
    agentTlsCertificates: createAgentTlsCertificateRepository(exec),
    agentFiles: createAgentFileRepository(exec),
    agentTelemetry: createAgentTelemetryRepository(exec),
    retention: createRetentionRepository(exec),
    exporters: createExporterRepository(exec),
    leases: createLeaseRepository(exec),
    leasePolicies: createLeasePolicyRepository(exec),
  };
}
