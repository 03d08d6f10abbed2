/**
 * Short, lowercase, prefixed ids ("ag-3f9c1e2a7b4d", "org-…"): readable in a
 * table and valid in a certificate's SAN URI. 48 random bits; callers insert
 * with a unique key, so a collision fails loudly instead of merging objects.
 */
export function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return `${prefix}-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}
