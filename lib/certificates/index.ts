/**
 * Certificates for virtual hosts, always for a key an agent made: internal
 * ones from the sites CA (never the fleet CA), ACME ones (Let's Encrypt or
 * any RFC 8555 CA) from orders finalized with the agent's CSR, HTTP-01
 * answered by the agents' nginx. Key requests go through the agent session
 * in lib/delivery.
 */
export {
  type AcmeIssuer,
  type AcmeIssuerOptions,
  type ChallengeChannel,
  createAcmeIssuer,
  LETS_ENCRYPT_DIRECTORY,
} from "./acme-issuer.ts";
export { createSitesIssuer, type SitesIssuer } from "./sites-issuer.ts";
