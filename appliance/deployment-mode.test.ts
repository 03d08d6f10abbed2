// Issue 10, NxMesh fidelity: the agent's --deployment-mode, detected when not given.
import { describe, expect, test } from "bun:test";
import { type DeploymentProbe, deploymentMode } from "./deployment-mode.ts";
import { UsageError } from "./flags.ts";

/** A machine with these environment variables and files (path → content). */
const machine = (
  env: Record<string, string> = {},
  files: Record<string, string> = {},
): DeploymentProbe => ({
  env,
  exists: (path) => path in files,
  read: (path) => files[path],
});

describe("deploymentMode", () => {
  test("the flag wins over what the machine looks like", () => {
    const pod = machine({ KUBERNETES_SERVICE_HOST: "10.0.0.1" });
    expect(deploymentMode("standalone", pod)).toBe("standalone");
    expect(deploymentMode("docker_sidecar", machine())).toBe("docker_sidecar");
  });

  test("a mode outside the seed's three is a usage error naming the flag", () => {
    expect(() => deploymentMode("docker", machine())).toThrow(UsageError);
    expect(() => deploymentMode("docker", machine())).toThrow(
      '--deployment-mode must be standalone, docker_sidecar, kubernetes_sidecar, not "docker"',
    );
  });

  test("detected: Kubernetes by its environment or service account, Docker by /.dockerenv or cgroup, else standalone", () => {
    expect(deploymentMode(undefined, machine({ KUBERNETES_SERVICE_HOST: "10.0.0.1" }))).toBe(
      "kubernetes_sidecar",
    );
    const account = { "/var/run/secrets/kubernetes.io": "", "/.dockerenv": "" };
    expect(deploymentMode(undefined, machine({}, account))).toBe("kubernetes_sidecar");
    expect(deploymentMode(undefined, machine({}, { "/.dockerenv": "" }))).toBe("docker_sidecar");
    const cgroup = { "/proc/1/cgroup": "0::/system.slice/docker-3f2a.scope\n" };
    expect(deploymentMode(undefined, machine({}, cgroup))).toBe("docker_sidecar");
    const host = { "/proc/1/cgroup": "0::/init.scope\n" };
    expect(deploymentMode(undefined, machine({ KUBERNETES_SERVICE_HOST: "" }, host))).toBe(
      "standalone",
    );
  });
});
