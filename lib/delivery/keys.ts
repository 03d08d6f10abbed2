import { renewalDue } from "../acme/index.ts";
import { type CertificateMaterial, hostsForAgent, type WorkspaceConfig } from "../desired/index.ts";
import type { AgentRow, AgentTlsCertificateRow } from "../store/index.ts";

/** An internal certificate the agent needs a (new) key for. */
export interface KeyNeed {
  certificateId: string;
  domain: string;
}

/**
 * Internal certificates (issued by the fleet CA) that the agent's TLS hosts
 * use and that it holds no certificate for, or whose renewal is due: each
 * needs a KeyGenRequest. Pure.
 */
export function keyNeeds(
  agent: AgentRow,
  config: WorkspaceConfig,
  own: ReadonlyMap<string, AgentTlsCertificateRow>,
  now: Date,
): KeyNeed[] {
  const records = new Map(config.certificates.map((row) => [row.id, row]));
  const needs = new Map<string, KeyNeed>();
  for (const host of hostsForAgent(agent, config.virtualHosts).targeted) {
    if (!host.sslEnabled || host.sslCertificateId === null) continue;
    const record = records.get(host.sslCertificateId);
    if (record?.provider !== "internal" || needs.has(record.id)) continue;
    const held = own.get(record.id);
    if (held && !renewalDue(held.notBefore, held.notAfter, now)) continue;
    needs.set(record.id, { certificateId: record.id, domain: record.domain });
  }
  return [...needs.values()];
}

/**
 * The certificate material an agent's desired state uses: for internal
 * records the certificate issued to this agent for the key it keeps; for
 * others, what the server holds (`delivered`).
 */
export function materialFor(
  config: WorkspaceConfig,
  own: ReadonlyMap<string, AgentTlsCertificateRow>,
  delivered: (certificateId: string) => CertificateMaterial | undefined,
): (certificateId: string) => CertificateMaterial | undefined {
  const internal = new Set(
    config.certificates.filter((row) => row.provider === "internal").map((row) => row.id),
  );
  return (certificateId) => {
    if (!internal.has(certificateId)) return delivered(certificateId);
    const held = own.get(certificateId);
    return held ? { certificatePem: held.certificatePem, agentKeyPath: held.keyPath } : undefined;
  };
}
