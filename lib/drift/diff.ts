import { invalidField } from "../errors/index.ts";
import { comparePaths, contentSha256 } from "./hash.ts";
import type { DesiredFile, FileSetDiff, Manifest, ManifestEntry } from "./types.ts";

/**
 * What to push so that an agent holding `applied` ends up holding exactly
 * `desired`: new or changed files (content or mode) to write, and paths it
 * holds that are no longer desired to remove. Both lists are sorted by path.
 */
export function diffFileSets(applied: Manifest, desired: readonly DesiredFile[]): FileSetDiff {
  const held = new Map<string, ManifestEntry>();
  for (const entry of applied) held.set(entry.path, entry);
  const wanted = new Set<string>();
  const write: DesiredFile[] = [];
  desired.forEach((file, index) => {
    if (wanted.has(file.path))
      throw invalidField(`files[${index}].path`, `duplicate path ${JSON.stringify(file.path)}`);
    wanted.add(file.path);
    const current = held.get(file.path);
    const same =
      current !== undefined &&
      current.mode === file.mode &&
      current.sha256.toLowerCase() === contentSha256(file.content);
    if (!same) write.push(file);
  });
  const remove = [...held.keys()].filter((path) => !wanted.has(path));
  write.sort((a, b) => comparePaths(a.path, b.path));
  remove.sort(comparePaths);
  return { write, remove };
}
