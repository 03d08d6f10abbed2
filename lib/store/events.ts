import { asc, desc, gt, lt, max, sql } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { prepared } from "./prepared.ts";
import type { Runner } from "./runner.ts";
import { events } from "./schema.ts";
import type { EventRepository } from "./types.ts";
import { checkLimit, plain, returned } from "./validate.ts";

export function createEventRepository(run: Runner): EventRepository {
  return {
    append: ({ type, subjectId, data, at }) =>
      run(async (db) => {
        const insert = prepared(db, events, () =>
          db
            .insert(events)
            .values({
              type: sql.placeholder("type"),
              subjectId: sql.placeholder("subjectId"),
              data: sql.placeholder("data"),
              at: sql.placeholder("at"),
            })
            .returning()
            .prepare(),
        );
        // JSON has no undefined; it reads back as null.
        return returned(await insert.execute({ type, subjectId, data: plain(data ?? null), at }));
      }),

    listSince: (afterSeq, limit) =>
      run(async (db) => {
        if (!Number.isInteger(afterSeq)) throw invalidField("afterSeq", "must be an integer");
        checkLimit(limit);
        return db
          .select()
          .from(events)
          .where(gt(events.seq, afterSeq))
          .orderBy(asc(events.seq))
          .limit(limit);
      }),

    listBefore: (beforeSeq, limit) =>
      run(async (db) => {
        if (beforeSeq !== undefined && !Number.isInteger(beforeSeq))
          throw invalidField("beforeSeq", "must be an integer");
        checkLimit(limit);
        return db
          .select()
          .from(events)
          .where(beforeSeq === undefined ? undefined : lt(events.seq, beforeSeq))
          .orderBy(desc(events.seq))
          .limit(limit);
      }),

    latestSeq: () =>
      run(async (db) => {
        const [row] = await db.select({ seq: max(events.seq) }).from(events);
        return row?.seq ?? 0;
      }),
  };
}
