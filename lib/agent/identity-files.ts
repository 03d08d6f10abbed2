import { join } from "node:path";
import { DroverError } from "../errors/index.ts";
import { readTextIfExists, writeFileAtomic, writeSecretFile } from "../files/index.ts";

/** What an agent remembers between runs; with it, a restart needs no token. */
export interface AgentIdentity {
  id: string;
  fleetId: string;
  /** HOST:PORT of the registration service the agent joined through. */
  registrationAddress: string;
  /** HOST:PORT of the agent service. */
  agentAddress: string;
  heartbeatIntervalMs: number;
  certificatePem: string;
  privateKeyPem: string;
  caBundlePem: string;
}

type IdentityRecord = Omit<AgentIdentity, "certificatePem" | "privateKeyPem" | "caBundlePem">;

export function agentPaths(dataDir: string) {
  return {
    record: join(dataDir, "agent.json"),
    certificate: join(dataDir, "agent.pem"),
    key: join(dataDir, "agent.key"),
    ca: join(dataDir, "ca.pem"),
  };
}

export async function loadAgentIdentity(dataDir: string): Promise<AgentIdentity | undefined> {
  const paths = agentPaths(dataDir);
  const record = await readTextIfExists(paths.record);
  if (record === undefined) return undefined;
  const [certificatePem, privateKeyPem, caBundlePem] = await Promise.all([
    readTextIfExists(paths.certificate),
    readTextIfExists(paths.key),
    readTextIfExists(paths.ca),
  ]);
  if (certificatePem === undefined || privateKeyPem === undefined || caBundlePem === undefined) {
    throw new DroverError(
      "failed_precondition",
      `agent data dir ${dataDir} is incomplete (agent.json without agent.pem, agent.key or ca.pem); move it away and join again with a new token`,
    );
  }
  return { ...(JSON.parse(record) as IdentityRecord), certificatePem, privateKeyPem, caBundlePem };
}

/** Key and certificate first, the record last: a record always has its files. */
export async function saveAgentIdentity(dataDir: string, identity: AgentIdentity): Promise<void> {
  const paths = agentPaths(dataDir);
  const { certificatePem, privateKeyPem, caBundlePem, ...record } = identity;
  await writeSecretFile(paths.key, privateKeyPem);
  await writeSecretFile(paths.certificate, certificatePem);
  await writeFileAtomic(paths.ca, caBundlePem);
  await writeSecretFile(paths.record, `${JSON.stringify(record, null, 2)}\n`);
}
