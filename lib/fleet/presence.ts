import type { AgentRow, HeartbeatRow, Store } from "../store/index.ts";
import { type Task, yieldToIo } from "../tasks/index.ts";
import type { Timers } from "../time/index.ts";

/**
 * The last report of every connected agent, in memory. A report only marks
 * its agent dirty; `flush` writes every dirty row, 256 to a statement, so
 * 25,000 agents reporting every 10 s cost ten commits a second instead of 2,500.
 * State changes do not wait for a flush: the caller writes them at once,
 * with their event, and `take`s the agent's pending row into that write.
 */
export interface Presence {
  /** Remembers the report; its row is written by the next flush. */
  note(row: HeartbeatRow): void;
  /** The agent's pending row, no longer pending: the caller writes it now. */
  take(id: string): HeartbeatRow | undefined;
  /** Every pending row, no longer pending: the caller writes them now or `restore`s them. */
  takeAll(): HeartbeatRow[];
  /** Rows a failed write took: pending again unless a newer report replaced them. */
  restore(rows: readonly HeartbeatRow[]): void;
  /** The agent disconnected: its last report is no longer live. */
  forget(id: string): void;
  /** The row with the last report overlaid, for an agent connected now. */
  withLiveHealth(row: AgentRow): AgentRow;
  /** Writes every pending row, `flushChunkRows` a statement; resolves with how many agents it wrote. */
  flush(): Promise<number>;
  /** Flushes every intervalMs until the signal aborts; a failed flush is retried at the next. */
  task(intervalMs: number, timers: Timers, onError: (error: unknown) => void): Task;
}

/**
 * Rows per statement of a flush, which yields to I/O between statements: 2,500
 * rows at once held the event loop and the writer lock for 50–250 ms, and
 * every request arriving meanwhile (a REST list) waited for all of it.
 */
export const flushChunkRows = 256;

export function createPresence(store: Store): Presence {
  const live = new Map<string, HeartbeatRow>();
  let dirty = new Map<string, HeartbeatRow>();

  function takeAll(): HeartbeatRow[] {
    const rows = [...dirty.values()];
    dirty = new Map();
    return rows;
  }

  function restore(rows: readonly HeartbeatRow[]): void {
    for (const row of rows) if (live.get(row.id) === row) dirty.set(row.id, row);
  }

  async function flush(): Promise<number> {
    const rows = takeAll();
    let written = 0;
    for (let start = 0; start < rows.length; start += flushChunkRows) {
      if (start > 0) await yieldToIo();
      try {
        written += await store.agents.writeHeartbeats(rows.slice(start, start + flushChunkRows));
      } catch (error) {
        restore(rows.slice(start));
        throw error;
      }
    }
    return written;
  }

  return {
    note(row) {
      live.set(row.id, row);
      dirty.set(row.id, row);
    },
    take(id) {
      const row = dirty.get(id);
      dirty.delete(id);
      return row;
    },
    takeAll,
    restore,
    forget(id) {
      live.delete(id);
      dirty.delete(id);
    },
    withLiveHealth(row) {
      const last = live.get(row.id);
      if (last === undefined || (row.lastSeenAt !== null && row.lastSeenAt > last.lastSeenAt))
        return row;
      return { ...row, lastSeenAt: last.lastSeenAt, lastHealth: last.lastHealth };
    },
    flush,
    task: (intervalMs, timers, onError) => async (signal) => {
      while (!signal.aborted) {
        await pause(intervalMs, timers, signal);
        if (signal.aborted) return;
        await flush().catch(onError);
      }
    },
  };
}

/** Resolves after ms on the injected timers, or at once when the signal aborts. */
function pause(ms: number, timers: Timers, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const cancel = timers.after(ms, done);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      cancel();
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
