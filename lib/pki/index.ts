export {
  createFleetCA,
  createSitesCA,
  type FleetCA,
  isSitesCaCertificate,
  loadFleetCA,
  loadSitesCA,
  type SitesCA,
} from "./ca.ts";
export {
  certificateInfo,
  type IssuedCertificate,
  issueClientCertificate,
  issuedBy,
  issueServerCertificate,
  issueSiteCertificate,
} from "./certificates.ts";
export { createCertificateRequest, verifyCertificateRequest } from "./csr.ts";
export {
  type Identity,
  identityFromCertificate,
  identityFromSubjectAltName,
  identityUri,
  parseIdentityUri,
  type Role,
} from "./identity.ts";
export {
  decodeJoinToken,
  type JoinTokenClaims,
  newNonceId,
  signJoinToken,
  verifyJoinToken,
} from "./join-token.ts";
export {
  exportPrivateKeyPem,
  exportPublicKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  type KeyPair,
  publicKeyHash,
} from "./keys.ts";
export { normalizeSerial } from "./serial.ts";
