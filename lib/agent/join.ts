import { durationMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { DroverError } from "../errors/index.ts";
import { Role } from "../gen/drover/v1/identity_pb.ts";
import { RegistrationService } from "../gen/drover/v1/registration_pb.ts";
import {
  createCertificateRequest,
  decodeJoinToken,
  exportPrivateKeyPem,
  generateKeyPair,
  publicKeyHash,
} from "../pki/index.ts";
import type { DeploymentMode } from "../store/index.ts";
import { grpcTransport, resolveServiceAddress } from "../transport/index.ts";
import { deploymentModeToProto } from "../wire/index.ts";
import type { AgentIdentity } from "./identity-files.ts";
import { explainJoinFailure } from "./registration-port.ts";

export interface JoinOptions {
  registrationAddress: string;
  token: string;
  name: string;
  hostname: string;
  ip: string;
  version: string;
  capabilities: string[];
  labels: Record<string, string>;
  deploymentMode: DeploymentMode;
}

/**
 * Joins the fleet. The CA is fetched over unverified TLS and accepted only if
 * its key hash equals the one inside the token; every later call verifies the
 * server against that pinned CA. The private key is made here and stays here.
 */
export async function joinFleet(options: JoinOptions): Promise<AgentIdentity> {
  const claims = decodeJoinToken(options.token);
  const discovery = createClient(
    RegistrationService,
    grpcTransport(options.registrationAddress, {}),
  );
  const bundle = await discovery.getCABundle({}).catch((error: unknown) => {
    throw explainJoinFailure(error, options.registrationAddress);
  });
  const hash = await publicKeyHash(bundle.caBundlePem);
  if (hash !== claims.caHash) {
    throw new DroverError(
      "permission_denied",
      `the server at ${options.registrationAddress} holds CA ${hash}, but the token was made for ${claims.caHash}; check --server`,
    );
  }
  const keys = await generateKeyPair();
  const csr = await createCertificateRequest(keys);
  const registration = createClient(
    RegistrationService,
    grpcTransport(options.registrationAddress, { caPem: bundle.caBundlePem }),
  );
  const response = await registration.register({
    token: options.token,
    role: Role.AGENT,
    csr,
    name: options.name,
    hostname: options.hostname,
    ip: options.ip,
    version: options.version,
    capabilities: options.capabilities,
    labels: options.labels,
    deploymentMode: deploymentModeToProto(options.deploymentMode),
  });
  if (!response.certificate || !response.heartbeatInterval) {
    throw new DroverError(
      "internal",
      "registration response lacks a certificate or heartbeat interval",
    );
  }
  return {
    id: response.id,
    fleetId: response.fleetId,
    registrationAddress: options.registrationAddress,
    agentAddress: resolveServiceAddress(response.serviceAddress, options.registrationAddress),
    heartbeatIntervalMs: durationMs(response.heartbeatInterval),
    certificatePem: response.certificate.certificatePem,
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    caBundlePem: response.caBundlePem,
  };
}
