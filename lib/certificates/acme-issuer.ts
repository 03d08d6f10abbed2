import {
  type AcmeClient,
  type AcmeFetch,
  createAcmeClient,
  obtainCertificate,
  renewalDue,
} from "../acme/index.ts";
import type { CertificateMaterial } from "../desired/index.ts";
import { DroverError, isDroverError } from "../errors/index.ts";
import type { EventBus, FleetEvent } from "../events/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import type { KeyPair } from "../pki/index.ts";
import type { Store, TlsCertificateMaterialRow, TlsCertificateRow } from "../store/index.ts";
import type { Clock } from "../time/index.ts";

/** Let's Encrypt's production directory: provider "letsencrypt" uses it unless told otherwise. */
export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";

/** How the fleet serves HTTP-01 challenges: from the agents of the record's workspace. */
export interface ChallengeChannel {
  /** Resolves once every connected agent of the workspace serves the token. */
  publishChallenge(workspaceId: string, token: string, keyAuthorization: string): Promise<void>;
  removeChallenge(workspaceId: string, token: string): void;
}

export interface AcmeIssuerOptions {
  store: Store;
  events: EventBus;
  clock: Clock;
  logger?: Logger;
  /**
   * Directory URL per provider. Records of a provider without one stay
   * pending: nothing is ordered from a CA the operator has not chosen.
   */
  directories: { letsencrypt?: string; acme?: string };
  /** ACME account key (ES256), the same across restarts. */
  accountKey: KeyPair;
  /** mailto: URLs for the account. */
  contact?: string[];
  /** For a directory behind a private CA (tests: pebble). */
  fetch?: AcmeFetch;
  challenges: ChallengeChannel;
}

export interface AcmeIssuer {
  /** Loads stored material; call once before delivery asks for any. */
  load(): Promise<void>;
  /** The certificate and key of a record the server obtained, for delivery. */
  material(certificateId: string): CertificateMaterial | undefined;
  /** Obtains (or renews) the record's certificate now; failures mark it failed with why. */
  issue(certificateId: string): Promise<void>;
  /** Issues every ACME record that is pending, or active and due for renewal (auto_renew). */
  issueDue(): Promise<void>;
  /** Stops following certificate.created events. */
  stop(): void;
}

const acmeProviders = new Set<TlsCertificateRow["provider"]>(["letsencrypt", "acme"]);

/**
 * Certificates for virtual hosts from an ACME CA (Let's Encrypt or any RFC
 * 8555 server), validated with HTTP-01 through the agents' nginx. The server
 * generates the key: one certificate serves every agent of the workspace
 * that serves the domain (an order per agent would run into CA rate
 * limits), so the key is delivered to them as a secret file.
 */
export function createAcmeIssuer(options: AcmeIssuerOptions): AcmeIssuer {
  const { store, events, clock } = options;
  const logger = options.logger ?? silentLogger;
  const cache = new Map<string, TlsCertificateMaterialRow>();
  const clients = new Map<string, Promise<AcmeClient>>();
  // One order per record at a time.
  const running = new Map<string, Promise<void>>();

  const directoryOf = (provider: TlsCertificateRow["provider"]): string | undefined =>
    provider === "letsencrypt" ? options.directories.letsencrypt : options.directories.acme;
  const unconfigured = (provider: TlsCertificateRow["provider"]) =>
    provider === "letsencrypt"
      ? "Let's Encrypt is not enabled: start the server with --acme-email ADDRESS (agreeing to its terms)"
      : "no ACME directory is configured: start the server with --acme-directory URL";

  function clientFor(provider: TlsCertificateRow["provider"]): Promise<AcmeClient> {
    const directoryUrl = directoryOf(provider);
    if (directoryUrl === undefined) {
      return Promise.reject(new DroverError("failed_precondition", unconfigured(provider)));
    }
    let client = clients.get(directoryUrl);
    if (!client) {
      client = (async () => {
        const created = createAcmeClient({
          directoryUrl,
          accountKey: options.accountKey,
          clock,
          logger,
          ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        });
        await created.newAccount({
          termsOfServiceAgreed: true,
          ...(options.contact === undefined ? {} : { contact: options.contact }),
        });
        return created;
      })();
      // A failed account creation is tried again next time.
      client.catch(() => clients.delete(directoryUrl as string));
      clients.set(directoryUrl, client);
    }
    return client;
  }

  async function obtain(record: TlsCertificateRow): Promise<void> {
    const workspaceId = record.workspaceId;
    try {
      const client = await clientFor(record.provider);
      // obtainCertificate removes every token it published, whatever the outcome.
      const obtained = await obtainCertificate({
        client,
        domains: [record.domain],
        logger,
        responder: {
          publish: (token, keyAuthorization) =>
            options.challenges.publishChallenge(workspaceId, token, keyAuthorization),
          remove: async (token) => options.challenges.removeChallenge(workspaceId, token),
        },
      });
      const row = await store.tlsCertificateMaterial.put({
        certificateId: record.id,
        certificatePem: obtained.certificatePem,
        keyPem: obtained.keyPem,
        serial: obtained.serial,
        notBefore: obtained.notBefore,
        notAfter: obtained.notAfter,
      });
      cache.set(record.id, row);
      await store.tlsCertificates.markIssued(record.id, {
        issuedAt: obtained.notBefore,
        expiresAt: obtained.notAfter,
        at: clock.now(),
      });
      // A certificate.* event: the workspace's agents get the new files.
      await events.publish({
        type: record.status === "active" ? "certificate.renewed" : "certificate.issued",
        subjectId: record.id,
        data: {
          certificate_id: record.id,
          workspace_id: workspaceId,
          domain: record.domain,
          serial: obtained.serial,
          expires_at: obtained.notAfter.toISOString(),
        },
      });
      logger.info("certificate obtained", { certificate: record.id, domain: record.domain });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.warn("certificate issuance failed", { certificate: record.id, error: message });
      // Renewal failures keep the current certificate serving; the record says why.
      if (!cache.has(record.id)) {
        await store.tlsCertificates.markFailed(record.id, { message, at: clock.now() });
      }
      await events.publish({
        type: "certificate.failed",
        subjectId: record.id,
        data: {
          certificate_id: record.id,
          workspace_id: workspaceId,
          domain: record.domain,
          error: message,
        },
      });
      if (!isDroverError(error)) throw error;
    }
  }

  function issue(certificateId: string): Promise<void> {
    const current = running.get(certificateId);
    if (current) return current;
    const work = (async () => {
      const record = await store.tlsCertificates.get(certificateId);
      if (!record) throw new DroverError("not_found", `certificate ${certificateId} not found`);
      if (!acmeProviders.has(record.provider))
        throw new DroverError(
          "failed_precondition",
          `certificate ${certificateId} is not an ACME certificate`,
        );
      await obtain(record);
    })().finally(() => running.delete(certificateId));
    running.set(certificateId, work);
    return work;
  }

  const unsubscribe = events.subscribe((event: FleetEvent) => {
    if (event.type !== "certificate.created") return;
    const provider = (event.data as { provider?: unknown } | null)?.provider;
    if (provider !== "letsencrypt" && provider !== "acme") return;
    if (directoryOf(provider) === undefined) {
      logger.warn("certificate stays pending", {
        certificate: event.subjectId,
        why: unconfigured(provider),
      });
      return;
    }
    void issue(event.subjectId).catch((error: unknown) =>
      logger.error("certificate issuance failed", {
        certificate: event.subjectId,
        error: String(error),
      }),
    );
  });

  return {
    async load() {
      for (const row of await store.tlsCertificateMaterial.listAll())
        cache.set(row.certificateId, row);
    },
    material(certificateId) {
      const row = cache.get(certificateId);
      return row ? { certificatePem: row.certificatePem, keyPem: row.keyPem } : undefined;
    },
    issue,
    async issueDue() {
      const now = clock.now();
      for (let offset = 0; ; offset += 1000) {
        const records = await store.tlsCertificates.list({ limit: 1000, offset });
        for (const record of records) {
          if (!acmeProviders.has(record.provider) || directoryOf(record.provider) === undefined)
            continue;
          const held = cache.get(record.id);
          const due = held
            ? record.autoRenew && renewalDue(held.notBefore, held.notAfter, now)
            : record.status === "pending";
          // Failures are on the record and in a certificate.failed event.
          if (due) await issue(record.id).catch(() => {});
        }
        if (records.length < 1000) return;
      }
    },
    stop: unsubscribe,
  };
}
