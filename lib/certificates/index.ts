/**
 * Certificates for virtual hosts that the server obtains itself: ACME
 * (Let's Encrypt or any RFC 8555 CA) with HTTP-01 served by the agents'
 * nginx. Internal certificates (fleet CA, key kept by the agent) are issued
 * through the agent session in lib/delivery.
 */
export {
  type AcmeIssuer,
  type AcmeIssuerOptions,
  type ChallengeChannel,
  createAcmeIssuer,
  LETS_ENCRYPT_DIRECTORY,
} from "./acme-issuer.ts";
