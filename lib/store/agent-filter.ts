import { and, eq, type SQL, sql } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { isValidKey, isValidValue, type SelectorTerm } from "../selector/index.ts";
import { inList } from "./filters.ts";
import { agents } from "./schema.ts";
import type { AgentFilter } from "./types.ts";
import { checkIds } from "./validate.ts";

/**
 * One selector term as SQL over the labels JSON, with the semantics of
 * matchesSelector. The key travels as a bound JSON path `$."key"`; the label
 * grammar (re-checked here, since a Selector can be built by hand) excludes
 * quotes and backslashes, so the quoted path names exactly that key.
 */
function termSql(term: SelectorTerm, index: number): SQL {
  const field = `selector[${index}]`;
  if (!isValidKey(term.key)) throw invalidField(`${field}.key`, "invalid label key");
  const path = `$."${term.key}"`;
  switch (term.op) {
    case "exists":
      return sql`json_type(${agents.labels}, ${path}) IS NOT NULL`;
    case "!exists":
      return sql`json_type(${agents.labels}, ${path}) IS NULL`;
    case "=":
    case "!=": {
      const value = term.value;
      if (typeof value !== "string" || !isValidValue(value)) {
        throw invalidField(`${field}.value`, "invalid label value");
      }
      // IS NOT is SQLite's null-safe inequality: an absent key matches `!=`.
      return term.op === "="
        ? sql`json_extract(${agents.labels}, ${path}) = ${value}`
        : sql`json_extract(${agents.labels}, ${path}) IS NOT ${value}`;
    }
    default:
      throw invalidField(`${field}.op`, "unknown operator");
  }
}

export function agentFilterSql(filter: AgentFilter): SQL | undefined {
  const conditions: SQL[] = (filter.selector ?? []).map(termSql);
  if (filter.state !== undefined) conditions.push(eq(agents.state, filter.state));
  if (filter.workspaceId !== undefined) {
    conditions.push(eq(agents.workspaceId, filter.workspaceId));
  }
  if (filter.workspaceIds !== undefined) {
    checkIds("workspaceIds", filter.workspaceIds);
    conditions.push(inList(agents.workspaceId, filter.workspaceIds));
  }
  return and(...conditions);
}
