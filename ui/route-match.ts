/** A route pattern like `/agents/:id`; `:name` matches one non-empty path segment. */
export type RouteParams = Record<string, string>;

/** The params of the first pattern that matches `path`, in order, or null when none does. */
export function matchRoute<K extends string>(
  patterns: readonly (readonly [K, string])[],
  path: string,
): { key: K; params: RouteParams } | null {
  const segments = splitPath(path);
  for (const [key, pattern] of patterns) {
    const params = matchPattern(splitPath(pattern), segments);
    if (params) return { key, params };
  }
  return null;
}

function splitPath(path: string): string[] {
  return path.split("/").filter((segment) => segment !== "");
}

function matchPattern(pattern: string[], segments: string[]): RouteParams | null {
  if (pattern.length !== segments.length) return null;
  const params: RouteParams = {};
  for (const [index, part] of pattern.entries()) {
    const segment = segments[index] ?? "";
    if (part.startsWith(":")) {
      try {
        params[part.slice(1)] = decodeURIComponent(segment);
      } catch {
        return null;
      }
    } else if (part !== segment) {
      return null;
    }
  }
  return params;
}

/** Where `/login?next=` may send someone: only a path of this origin, never `//host` or a URL. */
export function safeNextPath(next: string | null): string {
  if (!next?.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}
