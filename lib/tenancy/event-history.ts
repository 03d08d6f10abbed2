import type { Principal } from "../auth/index.ts";
import { invalidField } from "../errors/index.ts";
import {
  checkEventFilter,
  type EventFilter,
  type FleetEvent,
  matchesFilter,
} from "../events/index.ts";
import type { TenancyDeps } from "./deps.ts";
import { eventVisibility } from "./event-visibility.ts";
import { getWorkspace } from "./workspaces.ts";

export interface EventHistoryQuery {
  /** Only events with a lower seq, newest first (the default order). */
  before?: number;
  /** Only events with a higher seq, oldest first. */
  after?: number;
  /** Type patterns, as the WebSocket takes them; default everything. */
  types?: string[];
  workspaceId?: string;
  /** 1-500. */
  limit: number;
}

export interface EventHistoryPage {
  events: FleetEvent[];
  /** Newest first: pass as `before` for the next, older page; null once the oldest was read. */
  nextBefore: number | null;
  /** Oldest first: pass as `after` to go on; null once the newest was read. */
  nextAfter: number | null;
}

export const EVENT_HISTORY_LIMIT_MAX = 500;

/** Stored events one request reads at most, matching or not: a filter that matches little stays cheap. */
const scanLimit = 10_000;
const scanPage = 500;

function checkSeq(field: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 0))
    throw invalidField(field, "must be a non-negative integer");
}

/**
 * Stored events the principal may see (the WebSocket's rules: eventVisibility
 * and matchesFilter), a page at a time. A page may hold fewer than `limit`
 * events when the scan bound is reached first; the cursor says where to go on.
 */
export async function eventHistory(
  deps: TenancyDeps,
  principal: Principal,
  query: EventHistoryQuery,
): Promise<EventHistoryPage> {
  const filter: EventFilter = { types: query.types ?? ["*"], workspaceId: query.workspaceId };
  checkEventFilter(filter, "types");
  checkSeq("before", query.before);
  checkSeq("after", query.after);
  if (!Number.isInteger(query.limit) || query.limit < 1 || query.limit > EVENT_HISTORY_LIMIT_MAX) {
    throw invalidField("limit", `must be an integer from 1 to ${EVENT_HISTORY_LIMIT_MAX}`);
  }
  if (filter.workspaceId !== undefined) await getWorkspace(deps, principal, filter.workspaceId);
  const visible = await eventVisibility(deps, principal);
  const oldestFirst = query.after !== undefined;
  const { before } = query;
  const read = (cursor: number | undefined) =>
    oldestFirst
      ? deps.store.events.listSince(cursor ?? 0, scanPage)
      : deps.store.events.listBefore(cursor, scanPage);

  const events: FleetEvent[] = [];
  let cursor = oldestFirst ? query.after : before;
  let scanned = 0;
  let exhausted = false;
  scan: while (true) {
    const rows = await read(cursor);
    for (const [index, row] of rows.entries()) {
      // Oldest first up to `before`: past it is as good as the end.
      if (oldestFirst && before !== undefined && row.seq >= before) {
        exhausted = true;
        break scan;
      }
      cursor = row.seq;
      scanned++;
      if (visible(row) && matchesFilter(filter, row)) events.push(row);
      const last = index === rows.length - 1 && rows.length < scanPage;
      if (last) exhausted = true;
      if (events.length === query.limit || scanned >= scanLimit) break scan;
    }
    if (rows.length < scanPage) {
      exhausted = true;
      break;
    }
  }
  const next = exhausted || cursor === undefined ? null : cursor;
  return {
    events,
    nextBefore: oldestFirst ? null : next,
    nextAfter: oldestFirst ? next : null,
  };
}
