/** A one-line reading of an event's data: the names, reasons and messages a person looks for. */
export function describeEvent(data: Record<string, unknown>): string {
  const parts = ["name", "hostname", "reason", "message", "state", "domain", "email"]
    .map((key) => data[key])
    .filter((value): value is string => typeof value === "string" && value !== "");
  return parts.join(" · ");
}
