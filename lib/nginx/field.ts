import { type DroverError, invalidField } from "../errors/index.ts";

/**
 * A field's path into the model, snake_case, array indexes as segments
 * (`virtual_hosts.2.locations.0.path`). The compiler checks every field of
 * every host, and nearly always nothing is wrong: the path is kept as its
 * parent and key and written out only when a check fails (issue 13: building
 * each path eagerly was a measurable part of a 10,000-host compile). A plain
 * string is a path too, for callers that have one at hand.
 */
export type FieldPath = string | FieldAt;

export interface FieldAt {
  readonly parent: FieldPath;
  readonly key: string | number;
}

/** The path of `key` (a field name or an array index) inside `parent`. */
export function at(parent: FieldPath, key: string | number): FieldAt {
  return { parent, key };
}

/** The path written out: `parent.key`, down to the root string. */
export function fieldName(path: FieldPath): string {
  return typeof path === "string" ? path : `${fieldName(path.parent)}.${path.key}`;
}

/** invalidField for a path: the DroverError invalid_argument naming the field. */
export function fieldError(path: FieldPath, message: string): DroverError {
  return invalidField(fieldName(path), message);
}
