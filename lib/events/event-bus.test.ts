import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { tempStoreDir } from "../../test/support/store.ts";
import { t0 } from "../../test/support/store-data.ts";
import { DroverError } from "../errors/index.ts";
import { openBunSqlite } from "../store/driver-bun.ts";
import { createStore } from "../store/store.ts";
import type { Repositories, Store } from "../store/types.ts";
import { type CommittedEvent, createEventBus, type EventBus, type PublishInput } from "./index.ts";

const { freshPath } = tempStoreDir("drover-event-bus-");

let store: Store;
let bus: EventBus;
let heard: CommittedEvent[];

const organizationEvent = (
  type: "organization.created" | "organization.updated",
  id: string,
): PublishInput => ({ type, subjectId: id, data: { organization_id: id }, changes: {} });

function insertOrganization(tx: Repositories, id: string) {
  return tx.organizations.insert({ id, name: id, slug: id, createdAt: t0, updatedAt: t0 });
}

beforeEach(async () => {
  store = await createStore(await openBunSqlite(freshPath()));
  bus = createEventBus({ store, clock: { now: () => t0 } });
  heard = [];
  bus.subscribe((event) => heard.push(event));
});

afterEach(() => store.close());

describe("events written with the change they describe", () => {
  test("a change whose transaction fails writes no event and notifies nobody", async () => {
    const failure = new DroverError("failed_precondition", "refused after the event");
    await expect(
      bus.commit(async (tx) => {
        await insertOrganization(tx, "org-a");
        await tx.emit(organizationEvent("organization.created", "org-a"));
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await store.organizations.get("org-a")).toBeNull();
    expect(await store.events.latestSeq()).toBe(0);
    expect(heard).toEqual([]);
  });

  test("a transaction's events reach listeners after COMMIT, in seq order, with their changes", async () => {
    const seenDuringCommit: number[] = [];
    const [first, second] = await bus.commit(async (tx) => {
      await insertOrganization(tx, "org-a");
      const first = await tx.emit({
        ...organizationEvent("organization.created", "org-a"),
        changes: { workspaces: ["ws-1"] },
      });
      const second = await tx.emit({
        ...organizationEvent("organization.updated", "org-a"),
        changes: { agents: ["agent-1"] },
      });
      seenDuringCommit.push(heard.length);
      return [first.seq, second.seq];
    });
    // Nobody heard before COMMIT; after it, both, in order.
    expect(seenDuringCommit).toEqual([0]);
    expect(heard.map((event) => [event.seq, event.type, event.changes])).toEqual([
      [first, "organization.created", { workspaces: ["ws-1"] }],
      [second, "organization.updated", { agents: ["agent-1"] }],
    ]);
    expect(await store.events.listSince(0, 10)).toHaveLength(2);
  });

  test("concurrent transactions are heard in seq order, and a listener reads committed rows", async () => {
    const reads: Promise<unknown>[] = [];
    bus.subscribe((event) => {
      // Listeners run outside the transaction: the store is theirs to use (after it).
      reads.push(store.organizations.get(event.subjectId).then((row) => row?.id));
    });
    await Promise.all(
      ["org-a", "org-b", "org-c", "org-d"].map((id) =>
        bus.commit(async (tx) => {
          await insertOrganization(tx, id);
          await tx.emit(organizationEvent("organization.created", id));
        }),
      ),
    );
    const seqs = heard.map((event) => event.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(await Promise.all(reads)).toEqual(heard.map((event) => event.subjectId));
  });

  test("a listener that throws neither fails the committed change nor silences the others", async () => {
    const bus2 = createEventBus({ store, clock: { now: () => t0 } });
    const after: string[] = [];
    bus2.subscribe(() => {
      throw new Error("listener bug");
    });
    bus2.subscribe((event) => after.push(event.type));
    await bus2.publish(organizationEvent("organization.updated", "org-z"));
    expect(after).toEqual(["organization.updated"]);
    expect(await store.events.latestSeq()).toBe(1);
  });
});
