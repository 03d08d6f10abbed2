import { readFile, rm } from "node:fs/promises";
import { writeSecretFile } from "../files/index.ts";
import type { Logger } from "../log/index.ts";
import {
  ensureDefaultWorkspace,
  ensureFirstAdmin,
  requireFirstAdminPasswordChange,
  type TenancyDeps,
} from "../tenancy/index.ts";
import { serverPaths } from "./data-dir.ts";

/**
 * What a fleet starts with, created only once every listener is bound (a
 * failed bind creates nothing, so no password is lost): the default
 * organization and workspace (also for an upgraded data dir that has no
 * organization), and the first admin, with its password also in a 0600
 * file: stdout ends up in service logs, the file does not.
 */
export async function createFirstStartDefaults(
  deps: TenancyDeps,
  dataDir: string,
  logger: Logger,
): Promise<{ email: string; password: string } | undefined> {
  const workspace = await ensureDefaultWorkspace(deps);
  if (workspace) {
    logger.info("created the default organization and workspace", {
      organization: workspace.organizationId,
      workspace: workspace.id,
    });
  }
  const created = await ensureFirstAdmin(deps);
  if (!created) {
    await flagUnchangedInitialPassword(deps, dataDir, logger);
    return undefined;
  }
  await writeSecretFile(serverPaths(dataDir).initialAdminPassword, `${created.password}\n`);
  return created;
}

/** An upgraded data dir whose initial password is unchanged gets the change demanded too. */
async function flagUnchangedInitialPassword(
  deps: TenancyDeps,
  dataDir: string,
  logger: Logger,
): Promise<void> {
  const path = serverPaths(dataDir).initialAdminPassword;
  const initialPassword = await readFile(path, "utf8").then(
    (text) => text.trim(),
    () => undefined,
  );
  if (initialPassword && (await requireFirstAdminPasswordChange(deps, initialPassword)))
    logger.info("the first admin still has the initial password: it must be changed", { path });
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
