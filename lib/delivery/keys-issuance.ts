import { DroverError, invalidField } from "../errors/index.ts";
import type { EventBus } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import type { Logger } from "../log/index.ts";
import { verifyCertificateRequest } from "../pki/index.ts";
import type { Store, TlsCertificateRow } from "../store/index.ts";
import type { Clock } from "../time/index.ts";
import type { KeyNeed } from "./keys.ts";
import type { OpenSession } from "./sessions.ts";

export interface IssuedTlsCertificate {
  certificatePem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** Has a CSR an agent submitted signed for the record's domain. */
export type IssueTlsCertificate = (
  record: TlsCertificateRow,
  csrDer: Uint8Array,
) => Promise<IssuedTlsCertificate>;

/** Per-agent keys for TLS certificates: KeyGenRequests out, CSRs in, certificates recorded. */
export interface KeyIssuance {
  /** Sends one KeyGenRequest per certificate record the agent needs a key for, once. */
  requestKeys(session: OpenSession, needs: readonly KeyNeed[]): void;
  /**
   * SubmitPublicKeys: checks the CSR against an open request at once, then
   * has it signed (the sites CA, or an ACME order that needs this very
   * session to apply its challenge) without holding up the session.
   */
  issueForKey(session: OpenSession, requestId: string, csrDer: Uint8Array): Promise<void>;
}

export function createKeyIssuance(services: {
  tlsCertificates: Store["tlsCertificates"];
  events: EventBus;
  clock: Clock;
  logger: Logger;
  issue: IssueTlsCertificate | undefined;
}): KeyIssuance {
  const { tlsCertificates, events, clock, logger } = services;
  return {
    requestKeys(session, needs) {
      const open = new Set([...session.keyRequests.values()].map((r) => r.certificateId));
      for (const need of needs) {
        if (open.has(need.certificateId)) continue;
        const id = newId("key");
        // A fresh path per key: the current key stays valid until its successor's certificate is in place.
        const keyPath = `keys/${need.certificateId}-${id}.key`;
        session.keyRequests.set(id, { ...need, keyPath });
        session.renewNow.delete(need.certificateId);
        session.send({
          kind: "key_gen",
          request: { id, purpose: "tls_certificate", keyPath, dnsNames: [need.domain] },
        });
      }
    },

    async issueForKey(session, requestId, csrDer) {
      const request = session.keyRequests.get(requestId);
      if (!request || request.issuing)
        throw invalidField(
          "public_key.request_id",
          request
            ? "is being issued already"
            : "names no open key generation request of this agent",
        );
      const issue = services.issue;
      if (!issue)
        throw new DroverError("failed_precondition", "this server issues no certificates");
      // Proof of possession first: a refused CSR leaves the request open for another try.
      await verifyCertificateRequest(csrDer);
      const record = await tlsCertificates.get(request.certificateId);
      if (!record) {
        session.keyRequests.delete(requestId);
        return;
      }
      // Open until it settles, so a recompute meanwhile does not ask for another key.
      request.issuing = true;
      void (async () => {
        try {
          const issued = await issue(record, csrDer);
          const row = await events.commit(async (tx) => {
            const stored = await tx.agentTlsCertificates.put({
              agentId: session.agentId,
              certificateId: request.certificateId,
              keyPath: request.keyPath,
              certificatePem: issued.certificatePem,
              serial: issued.serial,
              notBefore: issued.notBefore,
              notAfter: issued.notAfter,
            });
            await tx.tlsCertificates.markIssued(request.certificateId, {
              issuedAt: issued.notBefore,
              expiresAt: issued.notAfter,
              at: clock.now(),
            });
            await tx.emit({
              type: record.status === "active" ? "certificate.renewed" : "certificate.issued",
              subjectId: request.certificateId,
              data: {
                certificate_id: request.certificateId,
                workspace_id: record.workspaceId,
                agent_id: session.agentId,
                domain: request.domain,
                serial: issued.serial,
                expires_at: issued.notAfter.toISOString(),
              },
              // Its hosts come back on every agent of the workspace, this one included.
              changes: { workspaces: [record.workspaceId] },
            });
            return stored;
          });
          // Before the listeners' recompute runs (it waits for a later tick).
          session.own.set(request.certificateId, row);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          logger.warn("certificate issuance failed", {
            certificate: request.certificateId,
            agent: session.agentId,
            error: message,
          });
          // Not asked again until the next hourly refresh: a CA's refusal does not fix itself.
          session.keyFailures.add(request.certificateId);
          // A certificate still being served keeps serving; the record says why it was not renewed.
          if (!session.own.has(request.certificateId)) {
            await tlsCertificates.markFailed(request.certificateId, {
              message,
              at: clock.now(),
            });
          }
          await events.publish({
            type: "certificate.failed",
            subjectId: request.certificateId,
            data: {
              certificate_id: request.certificateId,
              workspace_id: record.workspaceId,
              agent_id: session.agentId,
              domain: request.domain,
              error: message,
            },
            changes: { workspaces: [record.workspaceId] },
          });
        }
      })()
        .catch((error: unknown) =>
          logger.error("recording a certificate issuance failed", { error: String(error) }),
        )
        .finally(() => session.keyRequests.delete(requestId));
    },
  };
}
