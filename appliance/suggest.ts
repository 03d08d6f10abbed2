/** Levenshtein distance: insertions, deletions and substitutions each cost one. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The known name a mistyped one most likely meant: the closest within two
 * edits, else the only name it is a prefix of (`--data` → `--data-dir`).
 */
export function closestName(given: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(given, name);
    // Two edits turn any short name into another: allow fewer edits than letters.
    if (
      distance <= 2 &&
      distance < given.length &&
      (best === undefined || distance < best.distance)
    )
      best = { name, distance };
  }
  if (best) return best.name;
  const extended = known.filter((name) => given.length > 0 && name.startsWith(given));
  return extended.length === 1 ? extended[0] : undefined;
}

/** `; did you mean X?`, or nothing. */
export function didYouMean(given: string, known: readonly string[], prefix = ""): string {
  const name = closestName(given, known);
  return name === undefined ? "" : `; did you mean ${prefix}${name}?`;
}
