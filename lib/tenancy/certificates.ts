import type { Principal } from "../auth/index.ts";
import { DroverError, invalidField } from "../errors/index.ts";
import type { PublishInput } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import type { TlsCertificateRow, TlsProvider, WorkspaceRow } from "../store/index.ts";
import {
  scopeData,
  workspaceChanged,
  workspaceForConfig,
  workspaceOfObject,
} from "./config-scope.ts";
import { checkDomain } from "./config-validate.ts";
import { offsetOf, type PageOf, type PageRequest, type TenancyDeps } from "./deps.ts";

/** A certificate request; issuing it is a later step, so it starts pending. */
export interface CertificateInput {
  domain: string;
  provider: TlsProvider;
  autoRenew: boolean;
}

const providers: readonly TlsProvider[] = ["internal", "letsencrypt", "acme"];

function certificateEvent(
  type: "certificate.created" | "certificate.deleted",
  certificate: TlsCertificateRow,
  workspace: WorkspaceRow,
): PublishInput {
  return {
    type,
    subjectId: certificate.id,
    data: {
      certificate_id: certificate.id,
      domain: certificate.domain,
      provider: certificate.provider,
      ...scopeData(workspace),
    },
    changes: workspaceChanged(workspace),
  };
}

export async function listCertificates(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  page: PageRequest,
): Promise<PageOf<TlsCertificateRow>> {
  await workspaceForConfig(deps, principal, workspaceId, false);
  const [items, total] = await Promise.all([
    deps.store.tlsCertificates.list({ workspaceId, ...offsetOf(page) }),
    deps.store.tlsCertificates.count({ workspaceId }),
  ]);
  return { items, total };
}

export async function createCertificate(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  input: CertificateInput,
): Promise<TlsCertificateRow> {
  const workspace = await workspaceForConfig(deps, principal, workspaceId, true);
  const isWildcard = checkDomain("domain", input.domain);
  if (!providers.includes(input.provider)) {
    throw invalidField("provider", `must be one of ${providers.join(", ")}`);
  }
  if (typeof input.autoRenew !== "boolean") throw invalidField("auto_renew", "must be a boolean");
  const now = deps.clock.now();
  return deps.events.commit(async (tx) => {
    const certificate = await tx.tlsCertificates.insert({
      id: newId("cert"),
      workspaceId,
      // DNS names are case-insensitive; one spelling keeps the domain unique.
      domain: input.domain.toLowerCase(),
      isWildcard,
      provider: input.provider,
      status: "pending",
      autoRenew: input.autoRenew,
      createdAt: now,
      updatedAt: now,
    });
    await tx.emit(certificateEvent("certificate.created", certificate, workspace));
    return certificate;
  });
}

async function certificateFor(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
  write: boolean,
): Promise<{ certificate: TlsCertificateRow; workspace: WorkspaceRow }> {
  const what = `certificate ${id}`;
  const certificate = await deps.store.tlsCertificates.get(id);
  if (!certificate) throw new DroverError("not_found", `${what} not found`);
  const workspace = await workspaceOfObject(deps, principal, certificate.workspaceId, what, write);
  return { certificate, workspace };
}

export async function getCertificate(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<TlsCertificateRow> {
  return (await certificateFor(deps, principal, id, false)).certificate;
}

/** failed_precondition (409), naming it, while a virtual host serves the certificate. */
export async function deleteCertificate(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<void> {
  const { certificate, workspace } = await certificateFor(deps, principal, id, true);
  await deps.events.commit(async (tx) => {
    if (!(await tx.tlsCertificates.delete(id))) {
      throw new DroverError("not_found", `certificate ${id} not found`);
    }
    await tx.emit(certificateEvent("certificate.deleted", certificate, workspace));
  });
}

/**
 * Renews the certificate now on every connected agent that holds one for it
 * (a new key and certificate each); returns how many agents. Needs write.
 */
export async function renewCertificate(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
  renew: (certificateId: string) => Promise<number>,
): Promise<number> {
  await certificateFor(deps, principal, id, true);
  return renew(id);
}
