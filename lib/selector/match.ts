import type { Labels, Selector } from "./types.ts";

/** Kubernetes semantics: `!=` also matches when the key is absent. */
export function matchesSelector(selector: Selector, labels: Labels): boolean {
  return selector.every((term) => {
    // Object.hasOwn: label keys like "constructor" must not hit the prototype.
    const present = Object.hasOwn(labels, term.key);
    switch (term.op) {
      case "exists":
        return present;
      case "!exists":
        return !present;
      case "=":
        return present && labels[term.key] === term.value;
      case "!=":
        return !present || labels[term.key] !== term.value;
      default:
        // A hand-built term with an unknown operator selects nothing.
        return false;
    }
  });
}
