import { type FieldPath, fieldError } from "./field.ts";

/**
 * Rewrite patterns. nginx compiles them with PCRE when it loads the
 * configuration; a pattern PCRE refuses would fail the whole reload. So a
 * pattern must lie in the subset PCRE and JavaScript read alike, checked
 * here by a small parser, and must then also compile as a JavaScript RegExp:
 *
 * - literals: printable ASCII except the metacharacters, which are escaped;
 * - `.`, `^`, `$`; escapes `\d \D \w \W \s \S \b \B \n \r \t \f` and `\` before
 *   any ASCII punctuation;
 * - classes `[…]`/`[^…]`: non-empty, ranges in order, `[`, `]` and `\` escaped
 *   inside (so no POSIX `[:alpha:]`, which JavaScript reads differently);
 * - groups `(…)`, `(?:…)`, lookaheads `(?=…)`/`(?!…)`; no named groups
 *   (they would define nginx variables), no lookbehind (PCRE needs fixed
 *   length), no backreferences;
 * - quantifiers `* + ? {n} {n,} {n,m}` (n ≤ m ≤ 1000), lazy `?` allowed, after
 *   an atom only; `{` and `}` anywhere else must be escaped.
 *
 * Returns the number of capturing groups (for $1-$9 in the replacement).
 */
export function checkRewritePattern(field: FieldPath, pattern: unknown): number {
  if (typeof pattern !== "string") throw fieldError(field, "must be a string");
  if (!/^[\x21-\x7e]{1,1024}$/.test(pattern)) {
    throw fieldError(field, "must be 1-1024 printable ASCII characters without spaces");
  }
  if (pattern.includes(";")) throw fieldError(field, "must not contain ';'");
  const problem = parse(pattern);
  if (typeof problem === "string")
    throw fieldError(field, `not a supported regular expression: ${problem}`);
  try {
    new RegExp(pattern);
  } catch (error) {
    throw fieldError(field, `not a valid regular expression: ${(error as Error).message}`);
  }
  return problem;
}

const classEscapes = new Set([..."dDwWsS"]);
const controlEscapes: Record<string, number> = { n: 10, r: 13, t: 9, f: 12 };
const atomEscapes = new Set([..."dDwWsSbBnrtf"]);
const punctuation = /^[!-/:-@[-`{-~]$/;

/** Returns the capture count, or why the pattern is outside the subset. */
function parse(p: string): number | string {
  let i = 0;
  let groups = 0;
  /** Open groups: true for lookaheads, which cannot be repeated. */
  const open: boolean[] = [];
  /** Whether the last thing read can take a quantifier. */
  let quantifiable = false;
  while (i < p.length) {
    const c = p[i] as string;
    if (c === "\\") {
      const e = p[i + 1];
      if (e === undefined) return "a trailing '\\'";
      if (!atomEscapes.has(e) && !punctuation.test(e)) return `unsupported escape \\${e}`;
      quantifiable = e !== "b" && e !== "B";
      i += 2;
    } else if (c === "[") {
      const end = readClass(p, i);
      if (typeof end === "string") return end;
      i = end;
      quantifiable = true;
    } else if (c === "(") {
      const lookahead = p.startsWith("(?=", i) || p.startsWith("(?!", i);
      if (lookahead || p.startsWith("(?:", i)) {
        i += 3;
      } else if (p[i + 1] === "?") {
        return "only (…), (?:…), (?=…) and (?!…) groups are supported";
      } else {
        groups += 1;
        i += 1;
      }
      open.push(lookahead);
      quantifiable = false;
    } else if (c === ")") {
      const lookahead = open.pop();
      if (lookahead === undefined) return "an unbalanced ')'";
      quantifiable = !lookahead;
      i += 1;
    } else if (c === "*" || c === "+" || c === "?" || c === "{") {
      if (!quantifiable) return `'${c}' does not follow something it can repeat`;
      if (c === "{") {
        const q = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(p.slice(i));
        if (!q) return "a '{' that is not a quantifier {n}, {n,} or {n,m} (escape it as \\{)";
        const min = Number(q[1]);
        const max = q[3] === undefined || q[3] === "" ? min : Number(q[3]);
        if (min > 1000 || max > 1000 || (q[3] !== undefined && q[3] !== "" && max < min)) {
          return "a quantifier {n,m} needs n ≤ m ≤ 1000";
        }
        i += q[0].length;
      } else {
        i += 1;
      }
      if (p[i] === "?") i += 1;
      if (p[i] === "+") return "possessive quantifiers are not supported";
      quantifiable = false;
    } else if (c === "}" || c === "]") {
      return `an unescaped '${c}'`;
    } else if (c === "|" || c === "^" || c === "$") {
      quantifiable = false;
      i += 1;
    } else {
      quantifiable = true;
      i += 1;
    }
  }
  if (open.length !== 0) return "an unbalanced '('";
  return groups;
}

/** Reads a class from its '['; returns the index after its ']'. */
function readClass(p: string, start: number): number | string {
  let i = start + 1;
  if (p[i] === "^") i += 1;
  let items = 0;
  let previous: number | undefined;
  let rangeFrom: number | undefined;
  let afterShorthand = false;
  while (i < p.length && p[i] !== "]") {
    const c = p[i] as string;
    let code: number | undefined;
    if (c === "\\") {
      const e = p[i + 1];
      if (e === undefined) return "a trailing '\\'";
      const control = controlEscapes[e];
      if (control !== undefined) code = control;
      else if (classEscapes.has(e)) code = undefined;
      else if (punctuation.test(e)) code = e.charCodeAt(0);
      else return `unsupported escape \\${e} in a class`;
      i += 2;
    } else if (c === "[") {
      return "an unescaped '[' inside a class (write \\[)";
    } else if (c === "-" && afterShorthand && p[i + 1] !== "]") {
      return "a range from a shorthand like \\d (PCRE refuses it; put '-' last)";
    } else if (c === "-" && previous !== undefined && p[i + 1] !== "]") {
      rangeFrom = previous;
      previous = undefined;
      i += 1;
      continue;
    } else {
      code = c.charCodeAt(0);
      i += 1;
    }
    if (rangeFrom !== undefined) {
      if (code === undefined || code < rangeFrom) return "a class range out of order";
      rangeFrom = undefined;
      previous = undefined;
    } else {
      previous = code;
    }
    afterShorthand = code === undefined;
    items += 1;
  }
  if (i >= p.length) return "an unterminated '['";
  if (items === 0) return "an empty class";
  return i + 1;
}
