export { isValidKey, isValidValue } from "./grammar.ts";
export { validateLabels } from "./labels.ts";
export { matchesSelector } from "./match.ts";
export { formatSelector, parseLabelArg, parseSelector } from "./parse.ts";
export type { Labels, Selector, SelectorTerm } from "./types.ts";
