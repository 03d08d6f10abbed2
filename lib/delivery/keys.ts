import { renewalDue } from "../acme/index.ts";
import { type CertificateMaterial, hostsForAgent, type WorkspaceConfig } from "../desired/index.ts";
import type { AgentRow, AgentTlsCertificateRow, TlsCertificateRow } from "../store/index.ts";

/** A certificate record the agent needs a (new) key for. */
export interface KeyNeed {
  certificateId: string;
  domain: string;
}

/**
 * Certificate records the agent's TLS hosts use, of a provider the server
 * can issue from (`issues`), that the agent holds no certificate for or
 * whose renewal is due: each needs a KeyGenRequest. Pure.
 */
export function keyNeeds(
  agent: AgentRow,
  config: WorkspaceConfig,
  own: ReadonlyMap<string, AgentTlsCertificateRow>,
  now: Date,
  issues: (provider: TlsCertificateRow["provider"]) => boolean,
  renewNow: ReadonlySet<string> = new Set(),
): KeyNeed[] {
  const records = new Map(config.certificates.map((row) => [row.id, row]));
  const needs = new Map<string, KeyNeed>();
  for (const host of hostsForAgent(agent, config.virtualHosts).targeted) {
    if (!host.sslEnabled || host.sslCertificateId === null) continue;
    const record = records.get(host.sslCertificateId);
    if (!record || !issues(record.provider) || needs.has(record.id)) continue;
    const held = own.get(record.id);
    if (held && !renewNow.has(record.id) && !renewalDue(held.notBefore, held.notAfter, now))
      continue;
    needs.set(record.id, { certificateId: record.id, domain: record.domain });
  }
  return [...needs.values()];
}

/**
 * The certificate material an agent's desired state uses: for records the
 * server issues per agent (`issues`), the certificate issued to this agent
 * for the key it keeps; for others, what the server holds (`delivered`).
 */
export function materialFor(
  config: WorkspaceConfig,
  own: ReadonlyMap<string, AgentTlsCertificateRow>,
  issues: (provider: TlsCertificateRow["provider"]) => boolean,
  delivered: (certificateId: string) => CertificateMaterial | undefined,
): (certificateId: string) => CertificateMaterial | undefined {
  const perAgent = new Set(
    config.certificates.filter((row) => issues(row.provider)).map((row) => row.id),
  );
  return (certificateId) => {
    if (!perAgent.has(certificateId)) return delivered(certificateId);
    const held = own.get(certificateId);
    return held ? { certificatePem: held.certificatePem, agentKeyPath: held.keyPath } : undefined;
  };
}

/**
 * The certificates an agent holds, by record id, without those `retired`
 * says may no longer be served (e.g. internal certificates the fleet CA
 * signed before the sites CA existed). Such a record counts as not held:
 * keyNeeds asks the agent for a new key, and materialFor delivers nothing
 * for it until its successor is issued. An unreadable certificate is retired too.
 */
export async function heldCertificates(
  rows: readonly AgentTlsCertificateRow[],
  retired: (certificatePem: string) => Promise<boolean>,
): Promise<Map<string, AgentTlsCertificateRow>> {
  const held = new Map<string, AgentTlsCertificateRow>();
  for (const row of rows) {
    if (!(await retired(row.certificatePem).catch(() => true))) held.set(row.certificateId, row);
  }
  return held;
}
