// Issue 13, acknowledgements and registrations in batches: many items to a transaction, a bad one fails alone.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { tempStoreDir } from "../../test/support/store.ts";
import { t0 } from "../../test/support/store-data.ts";
import { openBunSqlite } from "../store/driver-bun.ts";
import { createStore } from "../store/store.ts";
import type { Store } from "../store/types.ts";
import { createEventBus, type EventBus } from "./event-bus.ts";
import { createGroupCommit } from "./group-commit.ts";

const { freshPath } = tempStoreDir("drover-group-commit-");

let store: Store;
let bus: EventBus;
let commits: number;

beforeEach(async () => {
  store = await createStore(await openBunSqlite(freshPath()));
  bus = createEventBus({ store, clock: { now: () => t0 } });
  commits = 0;
  const commit = bus.commit.bind(bus);
  bus = {
    ...bus,
    commit: (work) => {
      commits += 1;
      return commit(work);
    },
  };
});

afterEach(() => store.close());

/** Organizations as the items: a slug taken twice fails that insert (unique), and with it its batch. */
function organizations() {
  return createGroupCommit<string>(bus, async (tx, id) => {
    await tx.organizations.insert({
      id,
      name: id,
      slug: id.replace(/-dup$/, ""),
      createdAt: t0,
      updatedAt: t0,
    });
    await tx.emit({
      type: "organization.created",
      subjectId: id,
      data: { organization_id: id },
      changes: {},
    });
  });
}

describe("createGroupCommit", () => {
  test("a lone item is committed at once, in its own transaction", async () => {
    await organizations().write("org-1");
    expect(commits).toBe(1);
    expect((await store.organizations.get("org-1"))?.slug).toBe("org-1");
  });

  test("items arriving while a commit runs go together in the next one", async () => {
    const writer = organizations();
    const ids = Array.from({ length: 50 }, (_, i) => `org-${i}`);
    await Promise.all(ids.map((id) => writer.write(id)));
    // The first alone, the 49 that queued behind it in one more.
    expect(commits).toBe(2);
    const events = await store.events.listSince(0, 100);
    expect(events.map((event) => event.subjectId).sort()).toEqual([...ids].sort());
  });

  test("a bad item fails alone: the others of its batch are committed", async () => {
    const writer = organizations();
    const results = await Promise.allSettled(
      ["org-a", "org-b", "org-b-dup", "org-c"].map((id) => writer.write(id)),
    );
    expect(results.map((result) => result.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    for (const id of ["org-a", "org-b", "org-c"])
      expect(await store.organizations.get(id)).not.toBeNull();
    expect(await store.organizations.get("org-b-dup")).toBeNull();
    const events = await store.events.listSince(0, 100);
    expect(events.map((event) => event.subjectId).sort()).toEqual(["org-a", "org-b", "org-c"]);
  });
});
