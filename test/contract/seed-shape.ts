import type { SeedJson } from "./nxmesh-example-types.ts";

/**
 * How an answer is held to a seed example. Paths are dotted field names with
 * `[]` for "every element": `data[].state`, `error.code`, `labels`.
 */
export interface ShapeRules {
  /** The values a field may take, where the seed lists them. */
  enums?: Record<string, readonly string[]>;
  /** Fields that are maps (free keys): every value has the type of the seed's first value. */
  maps?: readonly string[];
  /** Fields that may be null although the seed shows a value (the caller says why). */
  nullable?: readonly string[];
}

const isoTimestamp = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/**
 * Where `actual` departs from the seed's example `seed`: a field the seed shows
 * that is missing, a different JSON type, a timestamp that is not an ISO date,
 * a value outside the seed's list. Fields the seed does not show are not
 * looked at (Drover's extras). Array elements are held to the seed's first
 * element. Empty when `actual` has the seed's shape.
 */
export function shapeMismatches(
  seed: SeedJson,
  actual: unknown,
  rules: ShapeRules = {},
  path = "",
): string[] {
  const at = path === "" ? "(the answer)" : path;
  if (actual === null && seed !== null && rules.nullable?.includes(path)) return [];
  const expected = jsonType(seed);
  const got = jsonType(actual);
  // A null in the seed says nothing about the type.
  if (seed === null) return [];
  if (got === "undefined") return [`${at}: missing (the seed has a ${expected})`];
  if (expected !== got) {
    const shown = actual === null ? "null" : `${got} ${JSON.stringify(actual)}`;
    return [`${at}: ${shown}, the seed has a ${expected}`];
  }
  if (typeof seed === "string") {
    const text = actual as string;
    const allowed = rules.enums?.[path];
    if (allowed && !allowed.includes(text)) {
      return [`${at}: "${text}" is not one of the seed's ${allowed.join(", ")}`];
    }
    if (
      isoTimestamp.test(seed) &&
      !(isoTimestamp.test(text) && Number.isFinite(Date.parse(text)))
    ) {
      return [`${at}: "${text}" is not an ISO timestamp like the seed's "${seed}"`];
    }
    return [];
  }
  if (Array.isArray(seed)) {
    const [first] = seed;
    if (first === undefined) return [];
    return (actual as unknown[]).flatMap((element) =>
      shapeMismatches(first, element, rules, `${path}[]`),
    );
  }
  if (typeof seed !== "object") return [];
  const object = actual as Record<string, unknown>;
  if (rules.maps?.includes(path)) {
    const [first] = Object.values(seed);
    if (first === undefined) return [];
    return Object.entries(object).flatMap(([key, value]) =>
      shapeMismatches(first, value, rules, `${path}.${key}`),
    );
  }
  return Object.entries(seed).flatMap(([key, value]) =>
    shapeMismatches(value, object[key], rules, path === "" ? key : `${path}.${key}`),
  );
}
