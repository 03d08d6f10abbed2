import fc from "fast-check";
import type { Selector, SelectorTerm } from "../../lib/selector/index.ts";

/** Selectors of up to three terms (=, !=, exists, !exists) over these keys and values. */
export function selectorArbitrary(
  keys: readonly string[],
  values: readonly string[],
): fc.Arbitrary<Selector> {
  const term: fc.Arbitrary<SelectorTerm> = fc.oneof(
    fc.record({
      key: fc.constantFrom(...keys),
      op: fc.constantFrom("=" as const, "!=" as const),
      value: fc.constantFrom(...values),
    }),
    fc.record({
      key: fc.constantFrom(...keys),
      op: fc.constantFrom("exists" as const, "!exists" as const),
    }),
  );
  return fc.array(term, { maxLength: 3 });
}
