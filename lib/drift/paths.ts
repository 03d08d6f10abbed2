import type { FieldViolation } from "../errors/index.ts";

export const maxPathBytes = 1024;
export const maxSegmentBytes = 255;
export const minFileMode = 0o400;
export const maxFileMode = 0o777;

const encoder = new TextEncoder();
// A lone surrogate encodes to U+FFFD, so two different strings would name one file.
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why a path is not an acceptable relative POSIX path, or undefined when it is.
 * A grammar, not a sanitiser: anything that could leave the root or alias
 * another name is refused rather than rewritten.
 */
export function pathProblem(path: unknown): string | undefined {
  if (typeof path !== "string" || path === "") return "must be a non-empty string";
  if (path.startsWith("/")) return "must be relative, not absolute";
  if (path.includes("\\")) return "must not contain backslashes";
  if (hasControlCharacter(path)) return "must not contain NUL or control characters";
  if (loneSurrogate.test(path)) return "must be well-formed Unicode";
  if (encoder.encode(path).length > maxPathBytes) return `must be at most ${maxPathBytes} bytes`;
  for (const segment of path.split("/")) {
    if (segment === "") return "must not contain empty segments (`//` or a trailing `/`)";
    if (segment === "." || segment === "..") return "must not contain `.` or `..` segments";
    if (encoder.encode(segment).length > maxSegmentBytes)
      return `each segment must be at most ${maxSegmentBytes} bytes`;
  }
  return undefined;
}

/** Why a mode is not a plain file mode, or undefined when it is. */
export function modeProblem(mode: unknown): string | undefined {
  if (typeof mode !== "number" || !Number.isInteger(mode)) return "must be an integer";
  // The upper bound also excludes setuid, setgid and sticky (0o7000).
  if (mode < minFileMode || mode > maxFileMode)
    return "must be a file mode from 0o400 to 0o777 (owner-readable, no setuid/setgid/sticky)";
  return undefined;
}

/**
 * Checks a set of files as a whole: each path and mode, duplicates, and a path
 * that another path of the set needs as a directory. Violations are named
 * `${field}[i].path` / `${field}[i].mode`.
 */
export function checkFileSet(
  files: ReadonlyArray<{ path: unknown; mode: unknown }>,
  field = "files",
): FieldViolation[] {
  const violations: FieldViolation[] = [];
  const seen = new Set<string>();
  files.forEach((file, index) => {
    const pathIssue = pathProblem(file.path);
    if (pathIssue) violations.push({ field: `${field}[${index}].path`, message: pathIssue });
    else if (seen.has(file.path as string))
      violations.push({ field: `${field}[${index}].path`, message: "duplicates an earlier file" });
    else seen.add(file.path as string);
    const modeIssue = modeProblem(file.mode);
    if (modeIssue) violations.push({ field: `${field}[${index}].mode`, message: modeIssue });
  });
  files.forEach((file, index) => {
    if (typeof file.path !== "string" || pathProblem(file.path)) return;
    const segments = file.path.split("/");
    for (let depth = 1; depth < segments.length; depth++) {
      const parent = segments.slice(0, depth).join("/");
      if (seen.has(parent)) {
        violations.push({
          field: `${field}[${index}].path`,
          message: `needs \`${parent}\` as a directory, but it is a file in the same set`,
        });
        break;
      }
    }
  });
  return violations;
}

// C0 controls, DEL and C1 controls: invisible in logs and hostile in shells.
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}
