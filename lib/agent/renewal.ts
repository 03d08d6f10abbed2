import { createClient } from "@connectrpc/connect";
import { DroverError } from "../errors/index.ts";
import { IdentityService } from "../gen/drover/v1/identity_pb.ts";
import {
  certificateInfo,
  createCertificateRequest,
  exportPrivateKeyPem,
  generateKeyPair,
} from "../pki/index.ts";
import type { Clock } from "../time/index.ts";
import { grpcTransport } from "../transport/index.ts";
import type { AgentIdentity } from "./identity-files.ts";

/** Renewal is due at two thirds of the certificate's lifetime. */
export function renewalDueAt(certificatePem: string): Date {
  const { notBefore, notAfter } = certificateInfo(certificatePem);
  return new Date(notBefore.getTime() + ((notAfter.getTime() - notBefore.getTime()) * 2) / 3);
}

/** Obtains a certificate for a fresh key, proving the old identity over mTLS. */
export async function renewIdentity(identity: AgentIdentity): Promise<AgentIdentity> {
  const client = createClient(
    IdentityService,
    grpcTransport(identity.agentAddress, {
      caPem: identity.caBundlePem,
      certificatePem: identity.certificatePem,
      privateKeyPem: identity.privateKeyPem,
    }),
  );
  const keys = await generateKeyPair();
  const response = await client.renew({ csr: await createCertificateRequest(keys) });
  if (!response.certificate)
    throw new DroverError("internal", "renewal response lacks a certificate");
  return {
    ...identity,
    certificatePem: response.certificate.certificatePem,
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    caBundlePem: response.caBundlePem,
  };
}

/** How long to wait before the next renewal attempt. */
export function renewalWaitMs(certificatePem: string, clock: Clock): number {
  return Math.max(0, renewalDueAt(certificatePem).getTime() - clock.now().getTime());
}
