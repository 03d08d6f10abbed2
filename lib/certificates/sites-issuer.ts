import {
  type IssuedCertificate,
  issuedBy,
  issueSiteCertificate,
  type SitesCA,
  verifyCertificateRequest,
} from "../pki/index.ts";
import type { TlsCertificateRow } from "../store/index.ts";
import type { Clock } from "../time/index.ts";

/** Internal certificates for virtual hosts: the sites CA signs agents' CSRs. */
export interface SitesIssuer {
  /** The sites CA's certificate, for browsers (GET /sites-ca.pem). */
  caCertificatePem: string;
  /** Signs the CSR (proof of possession checked) for the record's domain, valid 90 days. */
  obtainForCsr(record: TlsCertificateRow, csrDer: Uint8Array): Promise<IssuedCertificate>;
  /**
   * Whether a certificate an agent holds must be replaced: one the fleet CA
   * signed (as internal certificates were before the sites CA existed) must
   * not be served, since the fleet CA vouches for the control plane.
   */
  retired(certificatePem: string): Promise<boolean>;
}

export function createSitesIssuer(options: {
  ca: SitesCA;
  /** The fleet CA's certificate: what it signed is retired. */
  fleetCaPem: string;
  clock: Clock;
}): SitesIssuer {
  const byFleetCa = issuedBy(options.fleetCaPem);
  return {
    caCertificatePem: options.ca.certificatePem,
    async obtainForCsr(record, csrDer) {
      const { publicKey } = await verifyCertificateRequest(csrDer);
      return issueSiteCertificate(options.ca, {
        publicKey,
        domain: record.domain,
        now: options.clock.now(),
      });
    },
    retired: byFleetCa,
  };
}
