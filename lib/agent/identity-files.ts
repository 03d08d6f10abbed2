import { mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
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

/** A new identity on its way into the data dir. */
export interface StagedIdentity {
  /** Writes the identity beside the data dir, then moves it in: never half there. */
  commit(identity: AgentIdentity): Promise<void>;
  /** Removes what staging made. */
  discard(): Promise<void>;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Makes a private directory beside the data dir before a join token is spent,
 * so a data dir that cannot be written fails the join while the token is still
 * unused. The identity is written there and then renamed into place (the
 * directory itself when the data dir does not exist yet, else file by file,
 * the record last).
 */
export async function stageAgentIdentity(dataDir: string): Promise<StagedIdentity> {
  const existing = await stat(dataDir).catch(() => undefined);
  if (existing !== undefined && !existing.isDirectory())
    throw new DroverError("failed_precondition", `agent data dir ${dataDir} is not a directory`);
  let staging: string;
  try {
    await mkdir(dirname(dataDir), { recursive: true, mode: 0o700 });
    staging = await mkdtemp(join(dirname(dataDir), `.${basename(dataDir)}.joining-`));
  } catch (error) {
    throw new DroverError(
      "failed_precondition",
      `agent data dir ${dataDir} cannot be created: ${messageOf(error)}`,
    );
  }
  const discard = () => rm(staging, { recursive: true, force: true });
  return {
    discard,
    async commit(identity) {
      await saveAgentIdentity(staging, identity);
      if ((await stat(dataDir).catch(() => undefined)) === undefined) {
        await rename(staging, dataDir);
        return;
      }
      const from = agentPaths(staging);
      const to = agentPaths(dataDir);
      for (const file of ["key", "certificate", "ca", "record"] as const) {
        await rename(from[file], to[file]);
      }
      await discard();
    },
  };
}
