import { DroverError, type FieldViolation } from "../errors/index.ts";
import { keyProblem, valueProblem } from "./grammar.ts";
import type { Labels } from "./types.ts";

/** Throws invalid_argument listing every bad key or value as `${field}.${key}`. */
export function validateLabels(labels: Labels, field = "labels"): void {
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) {
    throw new DroverError("invalid_argument", `${field}: must be an object`, {
      details: [{ field, message: "must be an object" }],
    });
  }
  const details: FieldViolation[] = [];
  for (const [key, value] of Object.entries(labels)) {
    // Labels arrive from JSON bodies, so the static type is not a guarantee.
    const problem =
      keyProblem(key) ??
      (typeof value === "string" ? valueProblem(value) : "value must be a string");
    if (problem !== undefined) details.push({ field: `${field}.${key}`, message: problem });
  }
  const first = details[0];
  if (first === undefined) return;
  const message =
    details.length === 1
      ? `${first.field}: ${first.message}`
      : `${details.length} invalid labels (${details.map((d) => d.field).join(", ")})`;
  throw new DroverError("invalid_argument", message, { details });
}
