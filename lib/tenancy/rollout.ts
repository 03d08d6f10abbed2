import type { Principal } from "../auth/index.ts";
import type { RolloutCounts } from "../store/index.ts";
import { workspaceForConfig } from "./config-scope.ts";
import type { TenancyDeps } from "./deps.ts";

/** Where the workspace's agents stand with their desired configuration, for those who may read it. */
export async function workspaceRollout(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
): Promise<RolloutCounts> {
  await workspaceForConfig(deps, principal, workspaceId, false);
  return deps.store.configStatus.rollout(workspaceId);
}
