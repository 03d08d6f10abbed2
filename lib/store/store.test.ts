import { describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { drivers, tempStoreDir } from "../../test/support/store.ts";
import { newAgent, t0 } from "../../test/support/store-data.ts";
import { DroverError } from "../errors/index.ts";
import type { OpenedDriver } from "./db.ts";
import { toDroverError } from "./errors.ts";
import { migrate } from "./migrate.ts";
import { migrations } from "./migrations.gen.ts";
import { createStore, openStore } from "./store.ts";

const { freshPath } = tempStoreDir("drover-store-");

async function rows<T>(opened: OpenedDriver, query: ReturnType<typeof sql>): Promise<T[]> {
  return opened.db.all<T>(query);
}

test("openStore picks bun:sqlite under Bun", async () => {
  const store = await openStore({ path: freshPath() });
  expect(store.driver).toBe("bun-sqlite");
  await store.close();
});

test("openStore accepts :memory:", async () => {
  const store = await openStore({ path: ":memory:" });
  await store.agents.insert(newAgent("a"));
  expect(await store.agents.count()).toBe(1);
  await store.close();
});

describe.each(drivers)("%s", (driver, open) => {
  test("connection pragmas", async () => {
    const opened = await open(freshPath());
    expect(opened.driver).toBe(driver);
    const pragma = async (name: string) =>
      Object.values(
        (await rows<Record<string, unknown>>(opened, sql.raw(`PRAGMA ${name}`)))[0] ?? {},
      )[0];
    expect(await pragma("journal_mode")).toBe("wal");
    expect(await pragma("foreign_keys")).toBe(1);
    expect(await pragma("busy_timeout")).toBe(5000);
    expect(await pragma("synchronous")).toBe(1); // NORMAL
    await opened.close();
  });

  test("migrations apply on a fresh file and are idempotent on reopen", async () => {
    const path = freshPath();
    const store = await createStore(await open(path));
    await store.agents.insert(newAgent("kept"));
    await store.close();

    const opened = await open(path);
    const tables = await rows<{ name: string }>(
      opened,
      sql`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`,
    );
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining([
        "agents",
        "certificates",
        "drover_migrations",
        "events",
        "join_tokens",
      ]),
    );
    expect(await migrate(opened.db, migrations)).toEqual([]);
    const applied = await rows<{ tag: string }>(opened, sql`SELECT tag FROM drover_migrations`);
    expect(applied.map((r) => r.tag)).toEqual(migrations.map((m) => m.tag));

    const reopened = await createStore(opened);
    expect((await reopened.agents.get("kept"))?.name).toBe("kept");
    await reopened.close();
  });

  test("a failing migration leaves no trace", async () => {
    const opened = await open(freshPath());
    const broken = [{ tag: "9999_broken", statements: ["CREATE TABLE half (x)", "NOT SQL"] }];
    await expect(migrate(opened.db, broken)).rejects.toThrow();
    const half = await rows(opened, sql`SELECT name FROM sqlite_master WHERE name = 'half'`);
    expect(half).toEqual([]);
    expect(await rows(opened, sql`SELECT tag FROM drover_migrations`)).toEqual([]);
    await opened.close();
  });

  test("statements after BEGIN IMMEDIATE run on the same connection", async () => {
    // If the driver spread statements over several connections, the insert
    // would commit on its own and the rollback would not undo it.
    const path = freshPath();
    const store = await createStore(await open(path));
    await store.close();
    const a = await open(path);
    const b = await open(path);
    await b.db.run(sql`PRAGMA busy_timeout=0`);
    await a.db.run(sql`BEGIN IMMEDIATE`);
    await a.db.run(
      sql`INSERT INTO events (type, subject_id, data, at) VALUES ('x', 's', 'null', 0)`,
    );
    expect(await rows(a, sql`SELECT seq FROM events`)).toHaveLength(1);
    expect(await rows(b, sql`SELECT seq FROM events`)).toHaveLength(0);
    const blocked = await Promise.resolve()
      .then(() =>
        b.db.run(sql`INSERT INTO events (type, subject_id, data, at) VALUES ('y', 's', 'null', 0)`),
      )
      .then(
        () => undefined,
        (error: unknown) => toDroverError(error),
      );
    expect(blocked?.code).toBe("unavailable");
    await a.db.run(sql`ROLLBACK`);
    expect(await rows(a, sql`SELECT seq FROM events`)).toHaveLength(0);
    await a.close();
    await b.close();
  });

  test("transaction commits everything it wrote", async () => {
    const store = await createStore(await open(freshPath()));
    const seq = await store.transaction(async (tx) => {
      await tx.agents.insert(newAgent("a"));
      const event = await tx.events.append({
        type: "agent.created",
        subjectId: "a",
        data: {},
        at: t0,
      });
      return event.seq;
    });
    expect(seq).toBe(1);
    expect(await store.agents.get("a")).not.toBeNull();
    expect(await store.events.latestSeq()).toBe(1);
    await store.close();
  });

  test("a transaction that throws rolls back everything and rethrows the same error", async () => {
    const store = await createStore(await open(freshPath()));
    await store.joinTokens.insert({
      nonceId: "n1",
      role: "agent",
      labels: {},
      createdAt: t0,
      expiresAt: new Date(t0.getTime() + 60_000),
    });
    const boom = new Error("boom");
    const attempt = store.transaction(async (tx) => {
      await tx.joinTokens.consume("n1", "agent-1", t0);
      await tx.certificates.insert({
        serial: "ab01",
        subjectId: "agent-1",
        role: "agent",
        notAfter: t0,
        issuedAt: t0,
      });
      await tx.agents.insert(newAgent("agent-1"));
      await tx.events.append({ type: "agent.created", subjectId: "agent-1", data: null, at: t0 });
      throw boom;
    });
    expect(attempt).rejects.toBe(boom);
    await attempt.catch(() => undefined);
    expect((await store.joinTokens.get("n1"))?.usedAt).toBeNull();
    expect(await store.certificates.get("ab01")).toBeNull();
    expect(await store.agents.get("agent-1")).toBeNull();
    expect(await store.events.latestSeq()).toBe(0);
    // The token is still usable after the rollback.
    expect((await store.joinTokens.consume("n1", "agent-2", t0)).usedBy).toBe("agent-2");
    await store.close();
  });

  test("a failed statement inside a transaction rolls back the earlier ones", async () => {
    const store = await createStore(await open(freshPath()));
    await store.agents.insert(newAgent("dup"));
    await expect(
      store.transaction(async (tx) => {
        await tx.agents.insert(newAgent("new"));
        await tx.agents.insert(newAgent("dup"));
      }),
    ).rejects.toMatchObject({ code: "already_exists" });
    expect(await store.agents.get("new")).toBeNull();
    await store.close();
  });

  test("other callers wait for an open transaction and never see its writes", async () => {
    const store = await createStore(await open(freshPath()));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tx = store.transaction(async (t) => {
      await t.agents.insert(newAgent("pending"));
      await gate;
      throw new Error("abort");
    });
    const seen = store.agents.get("pending");
    release();
    await expect(tx).rejects.toThrow("abort");
    expect(await seen).toBeNull();
    await store.close();
  });

  test("using the store itself inside its transaction fails instead of deadlocking", async () => {
    const store = await createStore(await open(freshPath()));
    await expect(
      store.transaction(async () => {
        await store.agents.get("x");
      }),
    ).rejects.toMatchObject({ code: "internal" });
    // The lock was released: the store still works.
    expect(await store.agents.count()).toBe(0);
    await store.close();
  });

  test("a tx used after its transaction ended is refused", async () => {
    const store = await createStore(await open(freshPath()));
    const leaked = await store.transaction(async (tx) => tx);
    await expect(leaked.agents.insert(newAgent("late"))).rejects.toMatchObject({
      code: "failed_precondition",
    });
    expect(await store.agents.get("late")).toBeNull();
    await store.close();
  });

  test("a closed store refuses calls; close is idempotent", async () => {
    const store = await createStore(await open(freshPath()));
    await store.close();
    await store.close();
    const error = await store.agents.count().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DroverError);
    expect((error as DroverError).code).toBe("failed_precondition");
  });
});
