import {
  type AcmeClient,
  type AcmeFetch,
  createAcmeClient,
  type ObtainedForCsr,
  obtainCertificateForCsr,
} from "../acme/index.ts";
import { DroverError } from "../errors/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import type { KeyPair } from "../pki/index.ts";
import type { TlsCertificateRow } from "../store/index.ts";
import type { Clock } from "../time/index.ts";

/** Let's Encrypt's production directory: provider "letsencrypt" uses it once enabled. */
export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";

/** How the fleet serves HTTP-01 challenges: from the agents of the record's workspace. */
export interface ChallengeChannel {
  /** Resolves once every connected agent of the workspace serves the token. */
  publishChallenge(workspaceId: string, token: string, keyAuthorization: string): Promise<void>;
  removeChallenge(workspaceId: string, token: string): void;
}

export interface AcmeIssuerOptions {
  clock: Clock;
  logger?: Logger;
  /**
   * Directory URL per provider. A provider without one is not ordered from:
   * nothing goes to a CA the operator has not chosen.
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
  /** Whether records of this provider can be ordered. */
  configured(provider: TlsCertificateRow["provider"]): boolean;
  /**
   * Orders a certificate for the record's domain with HTTP-01 through the
   * workspace's agents, finalized with an agent's CSR: the key stays on the
   * agent that generated it.
   */
  obtainForCsr(record: TlsCertificateRow, csrDer: Uint8Array): Promise<ObtainedForCsr>;
}

/**
 * Certificates for virtual hosts from an ACME CA (Let's Encrypt or any RFC
 * 8555 server). Each agent that serves the domain generates its own key
 * (KeyGenRequests) and gets its own certificate: private keys never travel.
 */
export function createAcmeIssuer(options: AcmeIssuerOptions): AcmeIssuer {
  const logger = options.logger ?? silentLogger;
  const clients = new Map<string, Promise<AcmeClient>>();

  const directoryOf = (provider: TlsCertificateRow["provider"]): string | undefined =>
    provider === "letsencrypt"
      ? options.directories.letsencrypt
      : provider === "acme"
        ? options.directories.acme
        : undefined;

  function clientFor(directoryUrl: string): Promise<AcmeClient> {
    let client = clients.get(directoryUrl);
    if (!client) {
      client = (async () => {
        const created = createAcmeClient({
          directoryUrl,
          accountKey: options.accountKey,
          clock: options.clock,
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
      client.catch(() => clients.delete(directoryUrl));
      clients.set(directoryUrl, client);
    }
    return client;
  }

  return {
    configured: (provider) => directoryOf(provider) !== undefined,

    async obtainForCsr(record, csrDer) {
      const directoryUrl = directoryOf(record.provider);
      if (directoryUrl === undefined) {
        throw new DroverError(
          "failed_precondition",
          record.provider === "letsencrypt"
            ? "Let's Encrypt is not enabled: start the server with --acme-email ADDRESS (agreeing to its terms)"
            : "no ACME directory is configured: start the server with --acme-directory URL",
        );
      }
      const workspaceId = record.workspaceId;
      // obtainCertificateForCsr removes every token it published, whatever the outcome.
      return obtainCertificateForCsr({
        client: await clientFor(directoryUrl),
        domains: [record.domain],
        csrDer,
        logger,
        responder: {
          publish: (token, keyAuthorization) =>
            options.challenges.publishChallenge(workspaceId, token, keyAuthorization),
          remove: async (token) => options.challenges.removeChallenge(workspaceId, token),
        },
      });
    },
  };
}
