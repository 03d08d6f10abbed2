import { insideStaticRoot, type NginxHostOutcome } from "../nginx/index.ts";
import type { VirtualHostRow } from "../store/index.ts";

/**
 * A host whose location serves files (`root`) from outside the agent's
 * declared static roots cannot be served by that agent: its first such
 * location, as a set-aside outcome naming the field and the agent's roots.
 * Undefined: every root of the host lies inside one.
 */
export function staticRootOutcome(
  host: VirtualHostRow,
  staticRoots: readonly string[],
): Extract<NginxHostOutcome, { status: "set_aside" }> | undefined {
  const i = host.locations.findIndex(
    (location) => location.root !== undefined && !insideStaticRoot(location.root, staticRoots),
  );
  if (i === -1) return undefined;
  const root = host.locations[i]?.root as string;
  return {
    id: host.id,
    status: "set_aside",
    reason:
      staticRoots.length === 0
        ? `locations.${i}.root ${root}: this agent declares no static root (drover agent --static-root DIR)`
        : `locations.${i}.root ${root} is outside this agent's static roots (${staticRoots.join(", ")})`,
    field: `locations.${i}.root`,
  };
}
