export { checkPasswordStrength, hashPassword, verifyPassword } from "./passwords.ts";
export {
  type MemberRole,
  operatorPrincipal,
  type Principal,
  requireFleetAdmin,
  requireOwnerGrant,
  requireRead,
  requireWrite,
  roleIn,
  visibleOrganizationIds,
} from "./principal.ts";
export {
  authenticateBearer,
  authenticateBearerUntil,
  login,
  logout,
  principalForUser,
  refresh,
  type SessionDeps,
  type TokenPair,
} from "./sessions.ts";
