import type { FleetCA, KeyPair } from "../pki/index.ts";

/**
 * The secrets the server signs with: the fleet CA issues certificates, and a
 * separate key signs join tokens so a leaked token key never mints certificates.
 */
export interface FleetAuthority {
  ca: FleetCA;
  tokenKeys: KeyPair;
}
