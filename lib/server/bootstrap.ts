import { readTextIfExists, writeFileAtomic, writeSecretFile } from "../files/index.ts";
import { certificateRecord, type FleetAuthority } from "../fleet/index.ts";
import {
  certificateInfo,
  createFleetCA,
  createSitesCA,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  issueClientCertificate,
  issueServerCertificate,
  type KeyPair,
  loadFleetCA,
  loadSitesCA,
  type SitesCA,
} from "../pki/index.ts";
import type { Store } from "../store/index.ts";
import type { Clock } from "../time/index.ts";
import { serverPaths } from "./data-dir.ts";

async function loadOrCreateKey(path: string): Promise<KeyPair> {
  const pem = await readTextIfExists(path);
  if (pem !== undefined) return importPrivateKeyPem(pem);
  const keys = await generateKeyPair();
  await writeSecretFile(path, await exportPrivateKeyPem(keys.privateKey));
  return keys;
}

/** Loads the fleet CA and signing keys from the data dir, creating them at first start. */
export async function loadOrCreateAuthority(
  dataDir: string,
  clock: Clock,
): Promise<FleetAuthority> {
  const paths = serverPaths(dataDir);
  const certificatePem = await readTextIfExists(paths.caCertificate);
  const privateKeyPem = await readTextIfExists(paths.caKey);
  let ca: FleetAuthority["ca"];
  if (certificatePem !== undefined && privateKeyPem !== undefined) {
    ca = await loadFleetCA({ certificatePem, privateKeyPem });
  } else {
    ca = await createFleetCA({ now: clock.now() });
    // Key first: a crash in between leaves no certificate without its key.
    await writeSecretFile(paths.caKey, await exportPrivateKeyPem(ca.keys.privateKey));
    await writeFileAtomic(paths.caCertificate, ca.certificatePem);
  }
  return {
    ca,
    tokenKeys: await loadOrCreateKey(paths.tokenKey),
    sessionKeys: await loadOrCreateKey(paths.sessionKey),
  };
}

/**
 * Loads the sites CA (internal certificates of virtual hosts) from the data
 * dir, creating it beside the fleet CA at first start, or at the first start
 * of a data dir from before it existed.
 */
export async function loadOrCreateSitesCA(
  dataDir: string,
  fleetId: string,
  clock: Clock,
): Promise<SitesCA> {
  const paths = serverPaths(dataDir);
  const certificatePem = await readTextIfExists(paths.sitesCaCertificate);
  const privateKeyPem = await readTextIfExists(paths.sitesCaKey);
  if (certificatePem !== undefined && privateKeyPem !== undefined) {
    return loadSitesCA({ certificatePem, privateKeyPem });
  }
  const ca = await createSitesCA({ fleetId, now: clock.now() });
  // Key first: a crash in between leaves no certificate without its key.
  await writeSecretFile(paths.sitesCaKey, await exportPrivateKeyPem(ca.keys.privateKey));
  await writeFileAtomic(paths.sitesCaCertificate, ca.certificatePem);
  return ca;
}

/** The server's ACME account key (ES256), kept across restarts so the account stays the same. */
export function loadOrCreateAcmeAccountKey(dataDir: string): Promise<KeyPair> {
  return loadOrCreateKey(serverPaths(dataDir).acmeAccountKey);
}

export interface ServerTlsMaterial {
  certificatePem: string;
  keyPem: string;
}

/** Signs a fresh server certificate at every start, so its names always match the flags. */
export async function issueServerTls(
  dataDir: string,
  authority: FleetAuthority,
  names: { hostnames: string[]; ips: string[] },
  clock: Clock,
): Promise<ServerTlsMaterial> {
  const paths = serverPaths(dataDir);
  const keys = await loadOrCreateKey(paths.serverKey);
  const issued = await issueServerCertificate(authority.ca, {
    publicKey: keys.publicKey,
    hostnames: names.hostnames,
    ips: names.ips,
    now: clock.now(),
  });
  await writeFileAtomic(paths.serverCertificate, issued.certificatePem);
  return {
    certificatePem: issued.certificatePem,
    keyPem: await exportPrivateKeyPem(keys.privateKey),
  };
}

const adminLifetimeMs = 365 * 86_400_000;

/**
 * Keeps a valid admin operator credential in the data dir, like a kubeconfig:
 * written at first start, and again when it nears expiry or the store no
 * longer knows it.
 */
export async function ensureAdminCredential(
  dataDir: string,
  authority: FleetAuthority,
  store: Store,
  clock: Clock,
): Promise<void> {
  const paths = serverPaths(dataDir);
  const now = clock.now();
  const existing = await readTextIfExists(paths.adminCertificate);
  if (existing !== undefined && (await readTextIfExists(paths.adminKey)) !== undefined) {
    const info = certificateInfo(existing);
    const record = await store.certificates.get(info.serial);
    const fresh = info.notAfter.getTime() - now.getTime() > adminLifetimeMs / 3;
    if (record && !record.revokedAt && fresh) return;
  }
  const keys = await generateKeyPair();
  const identity = { fleetId: authority.ca.fleetId, role: "operator", id: "admin" } as const;
  const issued = await issueClientCertificate(authority.ca, {
    identity,
    publicKey: keys.publicKey,
    now,
    lifetimeMs: adminLifetimeMs,
  });
  await store.certificates.insert(certificateRecord(identity, issued, now));
  await writeSecretFile(paths.adminKey, await exportPrivateKeyPem(keys.privateKey));
  await writeSecretFile(paths.adminCertificate, issued.certificatePem);
}
