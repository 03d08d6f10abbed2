import { and, eq, type SQL, sql } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { isValidKey, isValidValue, type SelectorTerm } from "../selector/index.ts";
import { inList } from "./filters.ts";
import { agentLabels, agents } from "./schema.ts";
import type { AgentFilter } from "./types.ts";
import { checkIds } from "./validate.ts";

/** The agents having the label `key` (with `value`, if given), by the (key, value) index. */
function labelled(key: string, value?: string): SQL {
  const match =
    value === undefined
      ? eq(agentLabels.key, key)
      : and(eq(agentLabels.key, key), eq(agentLabels.value, value));
  return sql`SELECT ${agentLabels.agentId} FROM ${agentLabels} WHERE ${match}`;
}

/**
 * One selector term as SQL over agent_labels, with the semantics of
 * matchesSelector: `!=` and `!exists` are NOT IN, so an agent without the key
 * matches them (agent_id is NOT NULL, so NOT IN never meets a NULL). Keys and
 * values are bound parameters; they are still checked, since a Selector can be
 * built by hand and an invalid one should fail loudly rather than match nothing.
 */
function termSql(term: SelectorTerm, index: number): SQL {
  const field = `selector[${index}]`;
  if (!isValidKey(term.key)) throw invalidField(`${field}.key`, "invalid label key");
  switch (term.op) {
    case "exists":
      return sql`${agents.id} IN (${labelled(term.key)})`;
    case "!exists":
      return sql`${agents.id} NOT IN (${labelled(term.key)})`;
    case "=":
    case "!=": {
      const value = term.value;
      if (typeof value !== "string" || !isValidValue(value)) {
        throw invalidField(`${field}.value`, "invalid label value");
      }
      return term.op === "="
        ? sql`${agents.id} IN (${labelled(term.key, value)})`
        : sql`${agents.id} NOT IN (${labelled(term.key, value)})`;
    }
    default:
      throw invalidField(`${field}.op`, "unknown operator");
  }
}

/**
 * SQLite drives the query from the first `IN` list it can (it cannot tell
 * their sizes apart), so the likely smallest come first: an `=` selects a
 * subset of the `exists` of its key. NOT IN never drives: always a filter.
 */
const driveOrder: Record<SelectorTerm["op"], number> = { "=": 0, exists: 1, "!=": 2, "!exists": 2 };

export function agentFilterSql(filter: AgentFilter): SQL | undefined {
  // Checked in the caller's order, so errors name the term as given.
  const terms = (filter.selector ?? []).map((term, index) => ({
    sql: termSql(term, index),
    order: driveOrder[term.op],
  }));
  // Array.prototype.sort is stable: terms of one rank keep their order.
  const conditions: SQL[] = terms.sort((a, b) => a.order - b.order).map((t) => t.sql);
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
