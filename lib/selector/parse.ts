import { DroverError } from "../errors/index.ts";
import { keyProblem, valueProblem } from "./grammar.ts";
import type { Selector, SelectorTerm } from "./types.ts";

function badTerm(term: string, problem: string, field = "selector"): DroverError {
  const message = `invalid selector term "${term}": ${problem}`;
  return new DroverError("invalid_argument", message, { details: [{ field, message }] });
}

function parseTerm(raw: string): SelectorTerm {
  const term = raw.trim();
  if (term === "") throw badTerm(raw, "empty term");

  let key: string;
  let op: SelectorTerm["op"];
  let value: string | undefined;

  if (term.startsWith("!")) {
    key = term.slice(1).trim();
    op = "!exists";
  } else {
    // The first operator wins, so "a=b=c" leaves "b=c" as the (invalid) value.
    const match = /!=|==|=/.exec(term);
    if (match === null) {
      key = term;
      op = "exists";
    } else {
      key = term.slice(0, match.index).trim();
      value = term.slice(match.index + match[0].length).trim();
      op = match[0] === "!=" ? "!=" : "=";
    }
  }

  const kp = keyProblem(key);
  if (kp !== undefined) throw badTerm(term, kp);
  if (value === undefined) return { key, op };
  const vp = valueProblem(value);
  if (vp !== undefined) throw badTerm(term, vp);
  return { key, op, value };
}

/** Parses `"k=v,k2==v2,k3!=v3,k4,!k5"`; the empty string is the empty selector. */
export function parseSelector(text: string): Selector {
  if (text.trim() === "") return [];
  return text.split(",").map(parseTerm);
}

/** The canonical text of a selector; `parseSelector(formatSelector(s))` equals `s`. */
export function formatSelector(selector: Selector): string {
  return selector
    .map((term) => {
      switch (term.op) {
        case "exists":
          return term.key;
        case "!exists":
          return `!${term.key}`;
        default:
          return `${term.key}${term.op}${term.value ?? ""}`;
      }
    })
    .join(",");
}

/** Parses one CLI `--label k=v` argument (the value may be empty). */
export function parseLabelArg(text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq === -1) throw badTerm(text, "expected key=value", "label");
  const key = text.slice(0, eq);
  const value = text.slice(eq + 1);
  const problem = keyProblem(key) ?? valueProblem(value);
  if (problem !== undefined) throw badTerm(text, problem, "label");
  return [key, value];
}
