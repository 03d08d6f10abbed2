import { DroverError, invalidField } from "../errors/index.ts";
import { batchedCommits, type EventTransaction, noChanges } from "../events/index.ts";
import {
  type Identity,
  type IssuedCertificate,
  issueClientCertificate,
  type Role,
  verifyCertificateRequest,
  verifyJoinToken,
} from "../pki/index.ts";
import { validateLabels } from "../selector/index.ts";
import type { DeploymentMode, NewCertificate } from "../store/index.ts";
import type { FleetDeps } from "./deps.ts";
import { newIdentityId } from "./ids.ts";
import {
  checkCapabilities,
  checkHostname,
  checkName,
  checkOptionalIp,
  checkVersion,
} from "./validate.ts";

export interface RegisterInput {
  token: string;
  role: Role;
  /** PKCS#10 request, DER. */
  csr: Uint8Array;
  name: string;
  hostname: string;
  ip: string;
  version: string;
  capabilities: string[];
  labels: Record<string, string>;
  /** How the agent runs; default standalone. */
  deploymentMode?: DeploymentMode;
}

export interface Registration {
  identity: Identity;
  certificate: IssuedCertificate;
  caBundlePem: string;
  heartbeatIntervalMs: number;
}

function checkRegisterInput(input: RegisterInput): void {
  if (input.token === "") throw invalidField("token", "is required");
  if (input.csr.length === 0) throw invalidField("csr", "is required");
  if (input.role === "agent") checkHostname("hostname", input.hostname);
  else if (input.hostname !== "") checkHostname("hostname", input.hostname);
  if (input.name !== "") checkName("name", input.name);
  checkOptionalIp("ip", input.ip);
  checkVersion("version", input.version);
  checkCapabilities("capabilities", input.capabilities);
  validateLabels(input.labels, "labels");
}

/** The store's record of a certificate it issued, so it can be revoked. */
export function certificateRecord(
  identity: Identity,
  certificate: IssuedCertificate,
  now: Date,
): NewCertificate {
  return {
    serial: certificate.serial,
    subjectId: identity.id,
    role: identity.role,
    notAfter: certificate.notAfter,
    issuedAt: now,
  };
}

interface RegistrationWrite {
  nonceId: string;
  identity: Identity;
  certificate: IssuedCertificate;
  now: Date;
  labels: Record<string, string>;
  input: RegisterInput;
  name: string;
}

/** Consumes the token's nonce, stores the agent and records the certificate, with the event. */
async function writeRegistration(tx: EventTransaction, write: RegistrationWrite): Promise<void> {
  const { identity, certificate, now, labels, input } = write;
  const token = await tx.joinTokens.consume(write.nonceId, identity.id, now);
  if (identity.role === "agent") {
    await tx.agents.insert({
      id: identity.id,
      name: write.name,
      hostname: input.hostname,
      ip: input.ip,
      version: input.version,
      labels,
      claimedLabels: input.labels,
      capabilities: input.capabilities,
      deploymentMode: input.deploymentMode ?? "standalone",
      workspaceId: token.workspaceId,
      state: "offline",
      lastSeenAt: null,
      lastHealth: null,
      createdAt: now,
      updatedAt: now,
    });
  }
  await tx.certificates.insert(certificateRecord(identity, certificate, now));
  const scope = {
    workspace_id: token.workspaceId,
    hostname: input.hostname,
    ip_address: input.ip,
  };
  await tx.emit(
    identity.role === "agent"
      ? {
          type: "agent.registered",
          subjectId: identity.id,
          data: { agent_id: identity.id, ...scope, labels, claimed_labels: input.labels },
          changes: noChanges,
        }
      : {
          type: "operator.registered",
          subjectId: identity.id,
          data: { operator_id: identity.id, ...scope, labels },
          changes: noChanges,
        },
  );
}

/**
 * Exchanges a join token and a CSR for a client certificate. The token's nonce
 * is consumed, the agent stored and the certificate recorded in one
 * transaction: of two concurrent registrations with one token, one wins.
 */
export async function register(deps: FleetDeps, input: RegisterInput): Promise<Registration> {
  checkRegisterInput(input);
  const now = deps.clock.now();
  const claims = await verifyJoinToken(deps.authority.tokenKeys.publicKey, input.token, now);
  if (claims.role !== input.role) {
    throw new DroverError(
      "permission_denied",
      `join token is for role ${claims.role}, but the request asks for ${input.role}`,
    );
  }
  const { publicKey } = await verifyCertificateRequest(input.csr);
  const identity: Identity = {
    fleetId: deps.authority.ca.fleetId,
    role: input.role,
    // The id the token reserved (its claims are signed); older tokens carry none.
    id: claims.agentId ?? newIdentityId(input.role),
  };
  const certificate = await issueClientCertificate(deps.authority.ca, {
    identity,
    publicKey,
    now,
    lifetimeMs: deps.settings.certificateLifetimeMs,
  });
  // Token labels are the operator's word. What the agent claims is recorded
  // apart and matched by no selector (they deliver secrets and keys), unless
  // the token adopts the claims; then the token's labels still win.
  const labels = claims.allowSelfLabels ? { ...input.labels, ...claims.labels } : claims.labels;
  // One transaction with its event (shared with the writes that arrive
  // meanwhile: a whole site joins at once); a new agent has no session yet,
  // so nothing to deliver.
  const write = {
    nonceId: claims.nonceId,
    identity,
    certificate,
    now,
    labels,
    input,
    name: input.name || claims.name || input.hostname,
  };
  await batchedCommits(deps.events).commit((tx) => writeRegistration(tx, write));
  return {
    identity,
    certificate,
    caBundlePem: deps.authority.ca.certificatePem,
    heartbeatIntervalMs: deps.settings.heartbeatIntervalMs,
  };
}

/** Signs a fresh certificate for an identity that already holds a valid one. */
export async function renew(
  deps: FleetDeps,
  identity: Identity,
  csr: Uint8Array,
): Promise<IssuedCertificate> {
  if (csr.length === 0) throw invalidField("csr", "is required");
  if (identity.role === "agent" && (await deps.store.agents.get(identity.id)) === null) {
    throw new DroverError("unauthenticated", "this agent is no longer part of the fleet");
  }
  const { publicKey } = await verifyCertificateRequest(csr);
  const now = deps.clock.now();
  const certificate = await issueClientCertificate(deps.authority.ca, {
    identity,
    publicKey,
    now,
    lifetimeMs: deps.settings.certificateLifetimeMs,
  });
  await deps.events.commit(async (tx) => {
    await tx.certificates.insert(certificateRecord(identity, certificate, now));
    await tx.emit({
      type: "certificate.renewed",
      subjectId: identity.id,
      data: { serial: certificate.serial },
      changes: noChanges,
    });
  });
  return certificate;
}
