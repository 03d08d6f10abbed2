import { beforeEach, describe, expect, test } from "bun:test";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { drivers, tempStoreDir } from "../../test/support/store.ts";
import { t0 } from "../../test/support/store-data.ts";
import { createStore } from "./store.ts";
import type { NewAgent, NewJoinToken, Store } from "./types.ts";

const { freshPath } = tempStoreDir("drover-repos-");
const at = (ms: number) => new Date(t0.getTime() + ms);

const agent = (id: string, extra: Partial<NewAgent> = {}): NewAgent => ({
  id,
  name: `name-${id}`,
  hostname: `${id}.lan`,
  ip: "10.0.0.1",
  version: "1.0.0",
  labels: {},
  capabilities: ["files", "nginx"],
  state: "online",
  createdAt: t0,
  updatedAt: t0,
  ...extra,
});

const token = (nonceId: string, extra: Partial<NewJoinToken> = {}): NewJoinToken => ({
  nonceId,
  role: "agent",
  labels: { zone: "eu" },
  name: "pi",
  createdAt: t0,
  expiresAt: at(60_000),
  ...extra,
});

describe.each(drivers)("%s", (_driver, open) => {
  let store: Store;
  beforeEach(async () => {
    store = await createStore(await open(freshPath()));
    return async () => store.close();
  });

  describe("certificates", () => {
    const cert = (serial: string, subjectId: string, notAfter = at(1000)) => ({
      serial,
      subjectId,
      role: "agent" as const,
      notAfter,
      issuedAt: t0,
    });

    test("insert and get round-trip dates and nulls", async () => {
      const row = await store.certificates.insert(cert("0a1b", "agent-1"));
      expect(row).toEqual({ ...cert("0a1b", "agent-1"), revokedAt: null });
      expect(await store.certificates.get("0a1b")).toEqual(row);
      expect(await store.certificates.get("0A1B")).toEqual(row);
      expect(await store.certificates.get("ffff")).toBeNull();
    });

    test("insert rejects non-lowercase-hex serials and duplicates", async () => {
      expect((await expectDroverRejection(store.certificates.insert(cert("0A1B", "a")))).code).toBe(
        "invalid_argument",
      );
      expect((await expectDroverRejection(store.certificates.insert(cert("xyz", "a")))).code).toBe(
        "invalid_argument",
      );
      await store.certificates.insert(cert("01", "a"));
      expect((await expectDroverRejection(store.certificates.insert(cert("01", "b")))).code).toBe(
        "already_exists",
      );
    });

    test("revokeBySubject counts only unrevoked certificates of that subject", async () => {
      await store.certificates.insert(cert("01", "agent-1"));
      await store.certificates.insert(cert("02", "agent-1"));
      await store.certificates.insert(cert("03", "agent-2"));
      expect(await store.certificates.isRevoked("01")).toBe(false);
      expect(await store.certificates.revokeBySubject("agent-1", at(5))).toBe(2);
      expect(await store.certificates.revokeBySubject("agent-1", at(6))).toBe(0);
      expect(await store.certificates.isRevoked("01")).toBe(true);
      expect(await store.certificates.isRevoked("03")).toBe(false);
      expect(await store.certificates.isRevoked("99")).toBe(false);
      expect((await store.certificates.get("02"))?.revokedAt).toEqual(at(5));
    });

    test("revoke one serial", async () => {
      await store.certificates.insert(cert("0c", "agent-1"));
      expect(await store.certificates.revoke("0c", at(1))).toBe(true);
      expect(await store.certificates.revoke("0c", at(2))).toBe(false);
      expect(await store.certificates.revoke("0d", at(2))).toBe(false);
      expect((await store.certificates.get("0c"))?.revokedAt).toEqual(at(1));
    });

    test("listRevokedSerials, optionally without expired ones", async () => {
      await store.certificates.insert(cert("0e", "a", at(100)));
      await store.certificates.insert(cert("0f", "b", at(10_000)));
      await store.certificates.insert(cert("10", "c", at(10_000)));
      await store.certificates.revokeBySubject("a", at(1));
      await store.certificates.revokeBySubject("b", at(1));
      expect(await store.certificates.listRevokedSerials()).toEqual(["0e", "0f"]);
      expect(await store.certificates.listRevokedSerials(at(500))).toEqual(["0f"]);
    });
  });

  describe("joinTokens", () => {
    test("insert and get", async () => {
      const row = await store.joinTokens.insert(token("n1"));
      expect(row).toEqual({
        ...token("n1"),
        usedAt: null,
        usedBy: null,
        revokedAt: null,
        workspaceId: null,
        allowSelfLabels: false,
      } as typeof row);
      expect(await store.joinTokens.get("n1")).toEqual(row);
      expect(await store.joinTokens.get("nope")).toBeNull();
      const unnamed = await store.joinTokens.insert(token("n2", { name: undefined }));
      expect(unnamed.name).toBeNull();
    });

    test("insert validates labels and rejects duplicates", async () => {
      const bad = await expectDroverRejection(
        store.joinTokens.insert(token("n1", { labels: { "bad key": "v" } })),
      );
      expect(bad.code).toBe("invalid_argument");
      expect(bad.details[0]?.field).toBe("labels.bad key");
      await store.joinTokens.insert(token("n1"));
      expect((await expectDroverRejection(store.joinTokens.insert(token("n1")))).code).toBe(
        "already_exists",
      );
    });

    test("consume marks the token used once", async () => {
      await store.joinTokens.insert(token("n1"));
      const used = await store.joinTokens.consume("n1", "agent-1", at(10));
      expect(used.usedAt).toEqual(at(10));
      expect(used.usedBy).toBe("agent-1");
      const again = await expectDroverRejection(store.joinTokens.consume("n1", "agent-2", at(11)));
      expect(again.code).toBe("unauthenticated");
      expect(again.message).toBe("join token already used");
      expect((await store.joinTokens.get("n1"))?.usedBy).toBe("agent-1");
    });

    test("consume says precisely why it refused", async () => {
      await store.joinTokens.insert(token("expired", { expiresAt: at(100) }));
      await store.joinTokens.insert(token("revoked"));
      await store.joinTokens.revoke("revoked", at(1));
      const cases = [
        ["unknown", at(0), "join token unknown"],
        ["expired", at(100), "join token expired"],
        ["expired", at(101), "join token expired"],
        ["revoked", at(2), "join token revoked"],
      ] as const;
      for (const [nonce, now, message] of cases) {
        const error = await expectDroverRejection(store.joinTokens.consume(nonce, "agent-1", now));
        expect(error.code).toBe("unauthenticated");
        expect(error.message).toBe(message);
      }
      // The boundary: one millisecond before expiry still works.
      await store.joinTokens.insert(token("edge", { expiresAt: at(100) }));
      expect((await store.joinTokens.consume("edge", "a", at(99))).usedAt).toEqual(at(99));
    });

    test("two concurrent consumers: exactly one wins (same store)", async () => {
      await store.joinTokens.insert(token("race"));
      const results = await Promise.allSettled([
        store.joinTokens.consume("race", "agent-1", at(1)),
        store.joinTokens.consume("race", "agent-2", at(1)),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const [lost] = results.filter((r) => r.status === "rejected");
      expect((lost as PromiseRejectedResult).reason.message).toBe("join token already used");
    });

    test("two concurrent consumers: exactly one wins (two connections, one file)", async () => {
      const path = freshPath();
      const a = await createStore(await open(path));
      const b = await createStore(await open(path));
      try {
        for (let i = 0; i < 20; i++) {
          await a.joinTokens.insert(token(`race-${i}`));
          const results = await Promise.allSettled([
            a.joinTokens.consume(`race-${i}`, "agent-a", at(1)),
            b.joinTokens.consume(`race-${i}`, "agent-b", at(1)),
          ]);
          expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        }
      } finally {
        await a.close();
        await b.close();
      }
    });

    test("revoke: not_found, failed_precondition once used, idempotent otherwise", async () => {
      expect((await expectDroverRejection(store.joinTokens.revoke("nope", at(1)))).code).toBe(
        "not_found",
      );
      await store.joinTokens.insert(token("used"));
      await store.joinTokens.consume("used", "agent-1", at(1));
      expect((await expectDroverRejection(store.joinTokens.revoke("used", at(2)))).code).toBe(
        "failed_precondition",
      );
      await store.joinTokens.insert(token("r"));
      expect((await store.joinTokens.revoke("r", at(3))).revokedAt).toEqual(at(3));
      expect((await store.joinTokens.revoke("r", at(4))).revokedAt).toEqual(at(3));
    });

    test("list pages by nonce id", async () => {
      for (const id of ["c", "a", "b"]) await store.joinTokens.insert(token(id));
      const first = await store.joinTokens.list({ limit: 2 });
      expect(first.map((t) => t.nonceId)).toEqual(["a", "b"]);
      const rest = await store.joinTokens.list({ limit: 2, afterNonceId: "b" });
      expect(rest.map((t) => t.nonceId)).toEqual(["c"]);
      expect((await expectDroverRejection(store.joinTokens.list({ limit: -1 }))).code).toBe(
        "invalid_argument",
      );
    });
  });

  describe("agents", () => {
    test("insert and get round-trip JSON columns", async () => {
      const row = await store.agents.insert(
        agent("a1", { labels: { zone: "eu", "example.com/gpu": "" } }),
      );
      expect(row.labels).toEqual({ zone: "eu", "example.com/gpu": "" });
      expect(row.capabilities).toEqual(["files", "nginx"]);
      // Claimed labels are their own column, empty unless given, and validated like labels.
      expect(row.claimedLabels).toEqual({});
      const claimed = await store.agents.insert({ ...agent("a2"), claimedLabels: { tier: "db" } });
      expect(claimed.claimedLabels).toEqual({ tier: "db" });
      expect(claimed.labels).toEqual({});
      expect(row.lastSeenAt).toBeNull();
      expect(row.lastHealth).toBeNull();
      expect(await store.agents.get("a1")).toEqual(row);
      expect(await store.agents.get("zz")).toBeNull();
    });

    test("insert accepts null-prototype label maps", async () => {
      const labels: Record<string, string> = Object.create(null);
      labels.zone = "eu";
      const row = await store.agents.insert(agent("a1", { labels }));
      expect(row.labels).toEqual({ zone: "eu" });
      const updated = await store.agents.update("a1", { labels }, at(1));
      expect(updated.labels).toEqual({ zone: "eu" });
    });

    test("insert validates and rejects duplicates", async () => {
      const bad = await expectDroverRejection(
        store.agents.insert(agent("a1", { labels: { k: "a b" } })),
      );
      expect(bad.details[0]?.field).toBe("labels.k");
      const caps = await expectDroverRejection(
        store.agents.insert(agent("a1", { capabilities: [1] as unknown as string[] })),
      );
      expect(caps.code).toBe("invalid_argument");
      await store.agents.insert(agent("a1"));
      expect((await expectDroverRejection(store.agents.insert(agent("a1")))).code).toBe(
        "already_exists",
      );
    });

    test("update changes only the given fields", async () => {
      await store.agents.insert(agent("a1", { labels: { zone: "eu" } }));
      const row = await store.agents.update(
        "a1",
        { labels: { zone: "us" }, version: "2.0.0" },
        at(5),
      );
      expect(row.labels).toEqual({ zone: "us" });
      expect(row.version).toBe("2.0.0");
      expect(row.hostname).toBe("a1.lan");
      expect(row.updatedAt).toEqual(at(5));
      expect((await expectDroverRejection(store.agents.update("zz", {}, at(5)))).code).toBe(
        "not_found",
      );
      expect(
        (await expectDroverRejection(store.agents.update("a1", { labels: { "-": "" } }, at(6))))
          .code,
      ).toBe("invalid_argument");
    });

    test("updateHealth and setState", async () => {
      await store.agents.insert(agent("a1", { state: "offline" }));
      const health = { cpuPercent: 12.5, checks: [{ name: "nginx", ok: true }] };
      const row = await store.agents.updateHealth("a1", {
        lastSeenAt: at(10),
        lastHealth: health,
        state: "degraded",
      });
      expect(row).toMatchObject({ lastSeenAt: at(10), lastHealth: health, state: "degraded" });
      expect(row.updatedAt).toEqual(at(10));
      const offline = await store.agents.setState("a1", "offline", at(20));
      expect(offline.state).toBe("offline");
      expect(offline.updatedAt).toEqual(at(20));
      expect(offline.lastHealth).toEqual(health);
      expect((await expectDroverRejection(store.agents.setState("zz", "online", at(1)))).code).toBe(
        "not_found",
      );
      const online = await store.agents.markOnline("a1", at(30));
      expect(online).toMatchObject({ state: "online", lastSeenAt: at(30), lastHealth: health });
      expect((await expectDroverRejection(store.agents.markOnline("zz", at(1)))).code).toBe(
        "not_found",
      );
      const missing = store.agents.updateHealth("zz", {
        lastSeenAt: at(1),
        lastHealth: null,
        state: "online",
      });
      expect((await expectDroverRejection(missing)).code).toBe("not_found");
    });

    test("markStaleOffline flips only stale, not-yet-offline agents", async () => {
      await store.agents.insert(agent("fresh", { lastSeenAt: at(900) }));
      await store.agents.insert(agent("stale", { lastSeenAt: at(100) }));
      await store.agents.insert(agent("stale2", { lastSeenAt: at(200), state: "degraded" }));
      await store.agents.insert(agent("gone", { lastSeenAt: at(100), state: "offline" }));
      await store.agents.insert(agent("never", { createdAt: at(0) }));
      await store.agents.insert(agent("new", { createdAt: at(800) }));
      expect(await store.agents.markStaleOffline(at(500), at(1000))).toEqual([
        "never",
        "stale",
        "stale2",
      ]);
      expect((await store.agents.get("stale"))?.updatedAt).toEqual(at(1000));
      expect((await store.agents.get("gone"))?.updatedAt).toEqual(t0);
      expect(await store.agents.markStaleOffline(at(500), at(1001))).toEqual([]);
      expect(await store.agents.count({ state: "offline" })).toBe(4);
    });

    test("delete", async () => {
      await store.agents.insert(agent("a1"));
      expect(await store.agents.delete("a1")).toBe(true);
      expect(await store.agents.delete("a1")).toBe(false);
      expect(await store.agents.get("a1")).toBeNull();
    });

    test("list and count filter by state and selector", async () => {
      await store.agents.insert(agent("a", { labels: { zone: "eu", gpu: "" } }));
      await store.agents.insert(agent("b", { labels: { zone: "us" }, state: "offline" }));
      await store.agents.insert(agent("c", { labels: {} }));
      const ids = async (options: Parameters<Store["agents"]["list"]>[0]) =>
        (await store.agents.list(options)).map((r) => r.id);
      expect(await ids({ limit: 10 })).toEqual(["a", "b", "c"]);
      expect(await ids({ limit: 10, state: "online" })).toEqual(["a", "c"]);
      expect(await ids({ limit: 10, selector: [{ key: "zone", op: "!=", value: "eu" }] })).toEqual([
        "b",
        "c",
      ]);
      expect(await ids({ limit: 10, selector: [{ key: "gpu", op: "exists" }] })).toEqual(["a"]);
      expect(await ids({ limit: 10, selector: [{ key: "gpu", op: "=", value: "" }] })).toEqual([
        "a",
      ]);
      expect(await ids({ limit: 10, selector: [{ key: "zone", op: "!exists" }] })).toEqual(["c"]);
      expect(await ids({ limit: 0 })).toEqual([]);
      expect(await store.agents.count()).toBe(3);
      expect(
        await store.agents.count({ state: "online", selector: [{ key: "zone", op: "exists" }] }),
      ).toBe(1);
    });

    test("dots and slashes in keys name one label, not a JSON path", async () => {
      await store.agents.insert(agent("flat", { labels: { "a.b": "1", "example.com/x": "2" } }));
      await store.agents.insert(agent("nested", { labels: { a: "1" } }));
      const ids = async (key: string) =>
        (await store.agents.list({ limit: 10, selector: [{ key, op: "exists" }] })).map(
          (r) => r.id,
        );
      expect(await ids("a.b")).toEqual(["flat"]);
      expect(await ids("example.com/x")).toEqual(["flat"]);
      expect(await ids("a")).toEqual(["nested"]);
    });

    test("hand-built selectors cannot smuggle SQL or JSON path syntax", async () => {
      await store.agents.insert(agent("a", { labels: { zone: "eu" } }));
      for (const key of [`zone"`, `zone') OR 1=1 --`, "$", "zone[0]", "a\\b", ""]) {
        const error = await expectDroverRejection(
          store.agents.list({ limit: 10, selector: [{ key, op: "exists" }] }),
        );
        expect(error.code).toBe("invalid_argument");
      }
      const value = await expectDroverRejection(
        store.agents.list({
          limit: 10,
          selector: [{ key: "zone", op: "=", value: "x' OR '1'='1" }],
        }),
      );
      expect(value.code).toBe("invalid_argument");
      const noValue = await expectDroverRejection(
        store.agents.list({ limit: 10, selector: [{ key: "zone", op: "=" }] }),
      );
      expect(noValue.code).toBe("invalid_argument");
    });
  });

  describe("events", () => {
    test("append assigns strictly increasing seq; listSince and latestSeq", async () => {
      expect(await store.events.latestSeq()).toBe(0);
      const appended = [];
      for (let i = 0; i < 5; i++) {
        appended.push(
          await store.events.append({
            type: "agent.updated",
            subjectId: `a${i}`,
            data: { i },
            at: at(i),
          }),
        );
      }
      const seqs = appended.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(new Set(seqs).size).toBe(5);
      expect(appended[2]).toEqual({
        seq: seqs[2] as number,
        type: "agent.updated",
        subjectId: "a2",
        data: { i: 2 },
        at: at(2),
      });
      expect(await store.events.latestSeq()).toBe(seqs[4] as number);
      const since = await store.events.listSince(seqs[1] as number, 2);
      expect(since.map((e) => e.seq)).toEqual(seqs.slice(2, 4));
      expect(await store.events.listSince(seqs[4] as number, 10)).toEqual([]);
    });

    test("concurrent appends still get distinct increasing seqs", async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.events.append({ type: "t", subjectId: "s", data: [i, "x"], at: at(i) }),
        ),
      );
      const seqs = results.map((e) => e.seq);
      expect(new Set(seqs).size).toBe(50);
      const listed = await store.events.listSince(0, 100);
      expect(listed.map((e) => e.seq)).toEqual([...seqs].sort((x, y) => x - y));
    });

    test("data may be any JSON value, undefined becomes null", async () => {
      const values: unknown[] = [null, "s", 1, true, [1, { a: "b" }], { nested: { x: [null] } }];
      for (const data of values) {
        const e = await store.events.append({ type: "t", subjectId: "s", data, at: t0 });
        expect((await store.events.listSince(e.seq - 1, 1))[0]?.data).toEqual(data);
      }
      const u = await store.events.append({ type: "t", subjectId: "s", data: undefined, at: t0 });
      expect(u.data).toBeNull();
    });
  });
});
