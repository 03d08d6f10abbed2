import { existsSync, readFileSync } from "node:fs";
import { type DeploymentMode, deploymentModes } from "../lib/store/index.ts";
import { UsageError } from "./flags.ts";

/** What detection looks at: the environment and the file system (swapped in tests). */
export interface DeploymentProbe {
  env: Record<string, string | undefined>;
  exists(path: string): boolean;
  read(path: string): string | undefined;
}

export const systemProbe = (env: Record<string, string | undefined>): DeploymentProbe => ({
  env,
  exists: existsSync,
  read: (path) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
});

/**
 * How this agent runs: `--deployment-mode` when given, else detected.
 * Kubernetes first, since its pods also run in containers.
 */
export function deploymentMode(given: string | undefined, probe: DeploymentProbe): DeploymentMode {
  if (given !== undefined) {
    const mode = deploymentModes.find((m) => m === given);
    if (!mode)
      throw new UsageError(
        `--deployment-mode must be ${deploymentModes.join(", ")}, not ${JSON.stringify(given)}`,
      );
    return mode;
  }
  if (probe.env.KUBERNETES_SERVICE_HOST || probe.exists("/var/run/secrets/kubernetes.io"))
    return "kubernetes_sidecar";
  if (probe.exists("/.dockerenv") || /docker/.test(probe.read("/proc/1/cgroup") ?? ""))
    return "docker_sidecar";
  return "standalone";
}
