import { rm } from "node:fs/promises";
import { writeSecretFile } from "../files/index.ts";
import type { Logger } from "../log/index.ts";
import { ensureFirstAdmin, type TenancyDeps } from "../tenancy/index.ts";
import { serverPaths } from "./data-dir.ts";

/**
 * The first start's admin, created only once every listener is bound (a
 * failed bind creates nothing, so no password is lost), with its password
 * also in a 0600 file: stdout ends up in service logs, the file does not.
 */
export async function createFirstAdmin(
  deps: TenancyDeps,
  dataDir: string,
): Promise<{ email: string; password: string } | undefined> {
  const created = await ensureFirstAdmin(deps);
  if (!created) return undefined;
  await writeSecretFile(serverPaths(dataDir).initialAdminPassword, `${created.password}\n`);
  return created;
}

/** The initial password stops being true once changed: its file goes. */
export async function removeInitialAdminPassword(dataDir: string, logger: Logger): Promise<void> {
  const path = serverPaths(dataDir).initialAdminPassword;
  try {
    await rm(path, { force: true });
  } catch (error) {
    logger.warn("could not remove the initial admin password file", { path, error: String(error) });
  }
}
