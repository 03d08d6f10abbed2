import { chmod, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { DroverError } from "../errors/index.ts";
import { readTextIfExists, writeFileAtomic } from "../files/index.ts";
import type { Logger } from "../log/index.ts";

/** Where `drover server` keeps its state; client commands find the admin credential here. */
export function serverPaths(dataDir: string) {
  return {
    database: join(dataDir, "drover.db"),
    caCertificate: join(dataDir, "ca.pem"),
    caKey: join(dataDir, "ca.key"),
    sitesCaCertificate: join(dataDir, "sites-ca.pem"),
    sitesCaKey: join(dataDir, "sites-ca.key"),
    tokenKey: join(dataDir, "token-signing.key"),
    sessionKey: join(dataDir, "session-signing.key"),
    serverCertificate: join(dataDir, "server.pem"),
    serverKey: join(dataDir, "server.key"),
    adminCertificate: join(dataDir, "admin.pem"),
    adminKey: join(dataDir, "admin.key"),
    endpoints: join(dataDir, "endpoints.json"),
    acmeAccountKey: join(dataDir, "acme-account.key"),
    initialAdminPassword: join(dataDir, "initial-admin-password"),
  };
}

/**
 * Creates the data dir 0700, or tightens an existing looser one (it holds the
 * CA key, the database and the admin credential) and says so: refusing to
 * start would only teach people to loosen it back by hand.
 */
export async function prepareDataDir(dataDir: string, logger: Logger): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const mode = (await stat(dataDir)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    await chmod(dataDir, 0o700);
    logger.warn("data dir was readable by others; made it owner-only (0700)", {
      dataDir,
      was: `0${mode.toString(8)}`,
    });
  }
}

/** The addresses a running server listens on, as dialable HOST:PORT strings. */
export interface Endpoints {
  registration: string;
  agent: string;
  operator: string;
  http: string;
}

export async function writeEndpoints(dataDir: string, endpoints: Endpoints): Promise<void> {
  await writeFileAtomic(serverPaths(dataDir).endpoints, `${JSON.stringify(endpoints, null, 2)}\n`);
}

export async function readEndpoints(dataDir: string): Promise<Endpoints> {
  const text = await readTextIfExists(serverPaths(dataDir).endpoints);
  if (text === undefined) {
    throw new DroverError(
      "failed_precondition",
      `no server has run with data dir ${dataDir}; start one with: drover server --data-dir ${dataDir}`,
    );
  }
  return JSON.parse(text) as Endpoints;
}
