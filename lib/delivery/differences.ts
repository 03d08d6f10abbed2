import type { DesiredState } from "../desired/index.ts";
import { diffFileSets, type FileSetDiff, type Manifest, manifestHash } from "../drift/index.ts";

/** What an agent holding a manifest lacks of a desired state. */
export interface Difference extends FileSetDiff {
  /** It holds exactly the desired files already (its manifest hashes to the version). */
  holds: boolean;
}

/**
 * The difference between a desired state and what an agent holds, computed
 * once per distinct pair within one fan-out: the agents of a change mostly
 * share one desired state (createCompileMemo) and hold the same previous
 * one, and each difference hashes every desired file's content. Shared
 * results are read-only. One per fan-out: states of one configuration.
 */
export function createDifferences(): (desired: DesiredState, manifest: Manifest) => Difference {
  const byState = new WeakMap<DesiredState, Map<string, Difference>>();
  return (desired, manifest) => {
    let byManifest = byState.get(desired);
    if (byManifest === undefined) {
      byManifest = new Map();
      byState.set(desired, byManifest);
    }
    // The manifest as given: the same entries in another order are merely computed again.
    const key = JSON.stringify(manifest);
    let difference = byManifest.get(key);
    if (difference === undefined) {
      difference = {
        holds: manifestHash(manifest) === desired.hash,
        ...diffFileSets(manifest, desired.files),
      };
      byManifest.set(key, difference);
    }
    return difference;
  };
}
