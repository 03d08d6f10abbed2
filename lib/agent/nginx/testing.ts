/**
 * Test support for the nginx appliers: not part of the public surface, and
 * left out of the build as every testing.ts under lib/ is.
 */
import type { NginxModel, NginxUpstream, NginxVirtualHost } from "../../nginx/index.ts";
import { childPids, isAlive, readPidFile } from "./process.ts";

/**
 * SIGKILLs the nginx master named in `pidFile` and its workers, if it is
 * alive: the last resort of a test's cleanup.
 */
export async function killNginx(pidFile: string): Promise<void> {
  const pid = await readPidFile(pidFile);
  if (pid === undefined || !(await isAlive(pid))) return;
  for (const worker of await childPids(pid)) {
    try {
      process.kill(worker, "SIGKILL");
    } catch {}
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
}

/** The step names of an apply report: stage, validate, backup, swap, then `after`. */
export function applySteps(...after: string[]): string[] {
  return ["stage", "validate", "backup", "swap", ...after];
}

/** An upstream of one server: the loopback backend on backendPort. */
export function upstream(id: string, backendPort: number): NginxUpstream {
  return { id, servers: [{ address: `127.0.0.1:${backendPort}` }] };
}

/** A virtual host for `name` on listenPort that proxies / to the upstream. */
export function host(
  id: string,
  name: string,
  upstreamId: string,
  listenPort: number,
): NginxVirtualHost {
  return { id, serverNames: [name], listenPort, locations: [{ path: "/", upstreamId }] };
}

/** The first version the appliers' tests apply: a.test → backend one. */
export function v1Model(listenPort: number, one: number): NginxModel {
  return {
    virtualHosts: [host("a", "a.test", "one", listenPort)],
    upstreams: [upstream("one", one)],
  };
}

/** The second: a.test → backend two, and a second host b.test → backend one. */
export function v2Model(listenPort: number, one: number, two: number): NginxModel {
  return {
    virtualHosts: [host("a", "a.test", "two", listenPort), host("b", "b.test", "one", listenPort)],
    upstreams: [upstream("one", one), upstream("two", two)],
  };
}
