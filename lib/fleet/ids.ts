import { newId } from "../ids/index.ts";
import type { Role } from "../pki/index.ts";

/** Identity ids: "ag-" or "op-" + 12 hex. */
export function newIdentityId(role: Role): string {
  return newId(role === "agent" ? "ag" : "op");
}
