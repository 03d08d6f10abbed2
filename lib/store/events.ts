import { asc, desc, gt, lt, max } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import type { Runner } from "./runner.ts";
import { events } from "./schema.ts";
import type { EventRepository } from "./types.ts";
import { checkLimit, plain, returned } from "./validate.ts";

export function createEventRepository(run: Runner): EventRepository {
  return {
    append: ({ type, subjectId, data, at }) =>
      run(async (db) =>
        returned(
          await db
            .insert(events)
            // JSON has no undefined; it reads back as null.
            .values({ type, subjectId, data: plain(data ?? null), at })
            .returning(),
        ),
      ),

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
