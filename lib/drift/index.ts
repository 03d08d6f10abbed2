/**
 * Desired files of an agent: canonical hashing, drift decision and the
 * difference to push. Pure functions; delivery and disk I/O live elsewhere.
 */
export { diffFileSets } from "./diff.ts";
export {
  comparePaths,
  configHash,
  contentSha256,
  isDrifted,
  manifestHash,
  manifestOf,
} from "./hash.ts";
export {
  checkFileSet,
  maxFileMode,
  maxPathBytes,
  maxSegmentBytes,
  minFileMode,
  modeProblem,
  pathProblem,
} from "./paths.ts";
export type { DesiredFile, FileSetDiff, Manifest, ManifestEntry } from "./types.ts";
