import type { Role } from "../pki/index.ts";

/** Identity ids are short, lowercase and fit the SAN URI grammar: "ag-" or "op-" + 12 hex. */
export function newIdentityId(role: Role): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${role === "agent" ? "ag" : "op"}-${hex}`;
}
