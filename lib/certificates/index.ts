/**
 * ACME certificates for virtual hosts (Let's Encrypt or any RFC 8555 CA):
 * orders finalized with an agent's CSR, HTTP-01 answered by the agents'
 * nginx. Key requests and internal (fleet CA) certificates go through the
 * agent session in lib/delivery.
 */
export {
  type AcmeIssuer,
  type AcmeIssuerOptions,
  type ChallengeChannel,
  createAcmeIssuer,
  LETS_ENCRYPT_DIRECTORY,
} from "./acme-issuer.ts";
