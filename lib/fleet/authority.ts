import type { FleetCA, KeyPair } from "../pki/index.ts";

/**
 * The secrets the server signs with, one purpose each: the fleet CA issues
 * certificates, the token key signs join tokens (a leaked one never mints
 * certificates), the session key signs users' access tokens.
 */
export interface FleetAuthority {
  ca: FleetCA;
  tokenKeys: KeyPair;
  sessionKeys: KeyPair;
}
