import { and, eq, type SQL, sql } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { isValidKey, isValidValue, type SelectorTerm } from "../selector/index.ts";
import type { StoreDb } from "./db.ts";
import { inList } from "./filters.ts";
import { agentLabels, agents } from "./schema.ts";
import type { AgentFilter } from "./types.ts";
import { checkIds } from "./validate.ts";

/**
 * The index of the selector term SQLite walks first (its agents, from the
 * (key, value) index); undefined: no term drives, the workspace's
 * (workspace_id, id) index or the table is walked in id order. Every other
 * term is checked per agent walked, by one primary-key probe.
 */
export type DrivingTerm = number | undefined;

/** The agents having the label `key` (with `value`, if given), by the (key, value) index. */
function labelled(key: string, value: string | undefined): SQL {
  const match =
    value === undefined
      ? eq(agentLabels.key, key)
      : and(eq(agentLabels.key, key), eq(agentLabels.value, value));
  return sql`SELECT ${agentLabels.agentId} FROM ${agentLabels} WHERE ${match}`;
}

/** Whether this agent has the label: one probe of agent_labels' (agent_id, key) primary key. */
function hasLabel(key: string, value: string | undefined): SQL {
  const match = value === undefined ? undefined : eq(agentLabels.value, value);
  return sql`EXISTS (SELECT 1 FROM ${agentLabels} WHERE ${and(eq(agentLabels.agentId, agents.id), eq(agentLabels.key, key), match)})`;
}

/**
 * Keys and values are bound parameters; they are still checked, since a
 * Selector can be built by hand and an invalid one should fail loudly rather
 * than match nothing. Returns the value an `=`/`!=` term compares with.
 */
function checkTerm(term: SelectorTerm, index: number): string | undefined {
  const field = `selector[${index}]`;
  if (!isValidKey(term.key)) throw invalidField(`${field}.key`, "invalid label key");
  switch (term.op) {
    case "exists":
    case "!exists":
      return undefined;
    case "=":
    case "!=":
      if (typeof term.value !== "string" || !isValidValue(term.value))
        throw invalidField(`${field}.value`, "invalid label value");
      return term.value;
    default:
      throw invalidField(`${field}.op`, "unknown operator");
  }
}

/** A term that selects agents (rather than excluding them), so it can drive. */
const selects = (term: SelectorTerm): boolean => term.op === "=" || term.op === "exists";

/**
 * One selector term as SQL, with the semantics of matchesSelector: `!=` and
 * `!exists` are NOT EXISTS, so an agent without the key matches them. The
 * driving term is an `IN` list (SQLite walks it); the others are probes.
 */
function termSql(term: SelectorTerm, value: string | undefined, drives: boolean): SQL {
  if (drives) return sql`${agents.id} IN (${labelled(term.key, value)})`;
  const probe = hasLabel(term.key, value);
  return selects(term) ? probe : sql`NOT ${probe}`;
}

/** Agents a driver would walk: an upper bound on the rows it costs, stopping at `bound`. */
async function countUpTo(db: StoreDb, rows: SQL, bound: number): Promise<number> {
  const [row] = await db.all<{ n: number }>(
    sql`SELECT count(*) AS n FROM (${rows} LIMIT ${bound})`,
  );
  return Number(row?.n ?? 0);
}

/** Past this many agents, a candidate driver is "large"; probing further costs more than it saves. */
const probeBound = 4096;

/**
 * Picks the smallest of the candidate drivers (the `=`/`exists` terms, the
 * workspace) by counting each one's agents up to the smallest count so far:
 * SQLite's planner cannot tell `zone=c` (a few agents) from `tier=web` (half
 * the fleet), and walking the wrong one, or building an `IN` list of every
 * term as it used to, costs a row per agent of the whole fleet. A count walks
 * index entries only, so a probe costs a small fraction of what it saves. Ties
 * keep the caller's order (`=` before `exists`, then the workspace).
 */
export async function chooseDriver(db: StoreDb, filter: AgentFilter): Promise<DrivingTerm> {
  const terms = filter.selector ?? [];
  const values = terms.map(checkTerm);
  const candidates: { term: DrivingTerm; rows: () => SQL }[] = [];
  for (const op of ["=", "exists"] as const) {
    for (const [index, term] of terms.entries()) {
      if (term.op === op)
        candidates.push({ term: index, rows: () => labelled(term.key, values[index]) });
    }
  }
  const { workspaceId } = filter;
  if (workspaceId !== undefined)
    candidates.push({
      term: undefined,
      rows: () => sql`SELECT 1 FROM ${agents} WHERE ${eq(agents.workspaceId, workspaceId)}`,
    });
  const [first] = candidates;
  if (first === undefined || candidates.length === 1) return first?.term;
  let best = first;
  let bestRows = await countUpTo(db, first.rows(), probeBound);
  for (const candidate of candidates.slice(1)) {
    if (bestRows === 0) break;
    const rows = await countUpTo(db, candidate.rows(), bestRows);
    if (rows < bestRows) {
      best = candidate;
      bestRows = rows;
    }
  }
  return best.term;
}

/** The filter as one WHERE condition, walked from `drivingTerm` (see chooseDriver). */
export function agentFilterSql(filter: AgentFilter, drivingTerm: DrivingTerm): SQL | undefined {
  const terms = filter.selector ?? [];
  // Checked in the caller's order, so errors name the term as given.
  const values = terms.map(checkTerm);
  const conditions = terms.map((term, index) =>
    termSql(term, values[index], index === drivingTerm),
  );
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
