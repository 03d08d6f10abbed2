import { sql } from "drizzle-orm";
import type { StoreDb } from "./db.ts";
import type { HeartbeatRow } from "./types.ts";

/**
 * Writes the last report of many agents in ONE statement: the rows travel as
 * one JSON parameter, so the cost per flush is one statement (prepared once
 * per flush, not once per agent) however many agents reported. State is not
 * written here: a state change is written at once, with its event. Ids that
 * name no agent (deleted since) are skipped. Returns the rows it updated.
 */
export async function writeHeartbeats(db: StoreDb, rows: readonly HeartbeatRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const json = JSON.stringify(
    rows.map((row) => ({ id: row.id, seen: row.lastSeenAt.getTime(), health: row.lastHealth })),
  );
  // json_extract of an object is its JSON text: what drizzle's json mode reads back.
  const updated = await db.all<{ id: string }>(sql`
    UPDATE agents SET
      last_seen_at = json_extract(j.value, '$.seen'),
      updated_at = json_extract(j.value, '$.seen'),
      last_health = json_extract(j.value, '$.health')
    FROM json_each(${json}) AS j
    WHERE agents.id = json_extract(j.value, '$.id')
    RETURNING agents.id AS id`);
  return updated.length;
}
