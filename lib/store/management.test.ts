import { beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { drivers, tempStoreDir } from "../../test/support/store.ts";
import { newAgent, t0 } from "../../test/support/store-data.ts";
import { migrate } from "./migrate.ts";
import { migrations } from "./migrations.gen.ts";
import { createStore } from "./store.ts";
import type {
  NewOrganization,
  NewRefreshToken,
  NewWorkspace,
  Repositories,
  Store,
  UserRow,
} from "./types.ts";

const { freshPath } = tempStoreDir("drover-management-");
const at = (ms: number) => new Date(t0.getTime() + ms);
const sha256 = (token: string) => createHash("sha256").update(token).digest("hex");

const user = (id: string, extra: Partial<UserRow> = {}): UserRow => ({
  id,
  email: `${id}@example.com`,
  passwordHash: `hash-${id}`,
  passwordChangeRequired: false,
  createdAt: t0,
  updatedAt: t0,
  ...extra,
});

const org = (id: string, extra: Partial<NewOrganization> = {}): NewOrganization => ({
  id,
  name: `Org ${id}`,
  slug: `slug-${id}`,
  createdAt: t0,
  updatedAt: t0,
  ...extra,
});

const workspace = (
  id: string,
  organizationId: string,
  extra: Partial<NewWorkspace> = {},
): NewWorkspace => ({
  id,
  organizationId,
  name: `Workspace ${id}`,
  slug: `ws-${id}`,
  globalSettings: null,
  alertThresholds: null,
  createdAt: t0,
  updatedAt: t0,
  ...extra,
});

const refresh = (token: string, extra: Partial<NewRefreshToken> = {}): NewRefreshToken => ({
  id: sha256(token),
  familyId: "fam-1",
  userId: "u1",
  createdAt: t0,
  expiresAt: at(60_000),
  ...extra,
});

/** Reads every page of `page` at size `size`, checking each id comes exactly once. */
async function allPages(
  page: (offset: number) => Promise<{ id: string }[]>,
  size: number,
): Promise<string[]> {
  const ids: string[] = [];
  for (let offset = 0; ; offset += size) {
    const rows = await page(offset);
    expect(rows.length).toBeLessThanOrEqual(size);
    ids.push(...rows.map((r) => r.id));
    if (rows.length < size) break;
  }
  expect(new Set(ids).size).toBe(ids.length);
  return ids;
}

describe.each(drivers)("%s", (_driver, open) => {
  let store: Store;
  beforeEach(async () => {
    store = await createStore(await open(freshPath()));
    return async () => store.close();
  });

  describe("users", () => {
    test("insert lowercases the email; get and getByEmail find the row", async () => {
      const row = await store.users.insert(user("u1", { email: "Ann.Lee@Example.COM" }));
      expect(row).toEqual({ ...user("u1"), email: "ann.lee@example.com" });
      expect(await store.users.get("u1")).toEqual(row);
      expect(await store.users.getByEmail("ANN.lee@example.com")).toEqual(row);
      expect(await store.users.getByEmail("ann.lee@example.com")).toEqual(row);
      expect(await store.users.get("nope")).toBeNull();
      expect(await store.users.getByEmail("nobody@example.com")).toBeNull();
    });

    test("a taken email (in any case) or id is already_exists; the message names the email", async () => {
      await store.users.insert(user("u1", { email: "ann@example.com" }));
      const email = await expectDroverRejection(
        store.users.insert(user("u2", { email: "ANN@example.com" })),
      );
      expect(email.code).toBe("already_exists");
      expect(email.message).toContain("ann@example.com");
      const id = await expectDroverRejection(
        store.users.insert(user("u1", { email: "other@example.com" })),
      );
      expect(id.code).toBe("already_exists");
      expect(id.message).toContain("u1");
      expect(await store.users.count()).toBe(1);
    });

    test("insert validates email, id and password hash", async () => {
      for (const bad of [
        user("u1", { email: "not-an-email" }),
        user("u1", { email: 5 as unknown as string }),
        user("u1", { passwordHash: "" }),
        user(""),
      ]) {
        expect((await expectDroverRejection(store.users.insert(bad))).code).toBe(
          "invalid_argument",
        );
      }
      expect(await store.users.count()).toBe(0);
    });

    test("list pages by creation time then id; count", async () => {
      await store.users.insert(user("c", { createdAt: at(1) }));
      await store.users.insert(user("b", { createdAt: at(2) }));
      await store.users.insert(user("a", { createdAt: at(2) }));
      await store.users.insert(user("d", { createdAt: at(0) }));
      const ids = async (limit: number, offset: number) =>
        (await store.users.list({ limit, offset })).map((u) => u.id);
      expect(await ids(10, 0)).toEqual(["d", "c", "a", "b"]);
      expect(await ids(2, 1)).toEqual(["c", "a"]);
      expect(await ids(2, 4)).toEqual([]);
      expect(await store.users.count()).toBe(4);
      for (const options of [
        { limit: -1, offset: 0 },
        { limit: 1, offset: -1 },
        { limit: 1, offset: 0.5 },
      ]) {
        expect((await expectDroverRejection(store.users.list(options))).code).toBe(
          "invalid_argument",
        );
      }
    });

    test("updatePassword", async () => {
      await store.users.insert(user("u1"));
      const row = await store.users.updatePassword("u1", "new-hash", at(5));
      expect(row).toMatchObject({ passwordHash: "new-hash", updatedAt: at(5), createdAt: t0 });
      expect((await store.users.get("u1"))?.passwordHash).toBe("new-hash");
      expect(
        (await expectDroverRejection(store.users.updatePassword("nope", "h", at(5)))).code,
      ).toBe("not_found");
      expect((await expectDroverRejection(store.users.updatePassword("u1", "", at(5)))).code).toBe(
        "invalid_argument",
      );
    });

    test("passwordChangeRequired: false unless inserted true; set and cleared by id", async () => {
      expect((await store.users.insert(user("u1"))).passwordChangeRequired).toBe(false);
      await store.users.insert(user("u2", { passwordChangeRequired: true }));
      expect((await store.users.get("u2"))?.passwordChangeRequired).toBe(true);
      const set = await store.users.setPasswordChangeRequired("u1", true, at(5));
      expect(set).toMatchObject({ passwordChangeRequired: true, updatedAt: at(5) });
      await store.users.setPasswordChangeRequired("u2", false, at(6));
      expect((await store.users.get("u2"))?.passwordChangeRequired).toBe(false);
      expect(
        (await expectDroverRejection(store.users.setPasswordChangeRequired("nope", true, at(5))))
          .code,
      ).toBe("not_found");
    });

    test("delete removes the user's memberships and refresh tokens", async () => {
      await store.users.insert(user("u1"));
      await store.users.insert(user("u2"));
      await store.memberships.upsert({ userId: "u1", scope: "*", role: "owner", createdAt: t0 });
      await store.memberships.upsert({ userId: "u2", scope: "*", role: "viewer", createdAt: t0 });
      await store.refreshTokens.insert(refresh("t1"));
      await store.refreshTokens.insert(refresh("t2", { userId: "u2" }));
      expect(await store.users.delete("u1")).toBe(true);
      expect(await store.users.delete("u1")).toBe(false);
      expect(await store.users.get("u1")).toBeNull();
      expect(await store.memberships.listForUser("u1")).toEqual([]);
      expect(await store.refreshTokens.get(sha256("t1"))).toBeNull();
      expect(await store.memberships.listForUser("u2")).toHaveLength(1);
      expect(await store.refreshTokens.get(sha256("t2"))).not.toBeNull();
    });
  });

  describe("organizations", () => {
    test("insert, get and getBySlug", async () => {
      const row = await store.organizations.insert(org("o1"));
      expect(row).toEqual(org("o1"));
      expect(await store.organizations.get("o1")).toEqual(row);
      expect(await store.organizations.getBySlug("slug-o1")).toEqual(row);
      expect(await store.organizations.get("nope")).toBeNull();
      expect(await store.organizations.getBySlug("nope")).toBeNull();
    });

    test("a taken slug or id is already_exists; the message names the slug", async () => {
      await store.organizations.insert(org("o1", { slug: "acme" }));
      const slug = await expectDroverRejection(
        store.organizations.insert(org("o2", { slug: "acme" })),
      );
      expect(slug.code).toBe("already_exists");
      expect(slug.message).toContain("acme");
      const id = await expectDroverRejection(store.organizations.insert(org("o1")));
      expect(id.code).toBe("already_exists");
    });

    test("insert refuses the fleet scope as an id, and empty fields", async () => {
      for (const bad of [org("*"), org(""), org("o1", { name: "" }), org("o1", { slug: "" })]) {
        expect((await expectDroverRejection(store.organizations.insert(bad))).code).toBe(
          "invalid_argument",
        );
      }
    });

    test("list and count: ids undefined means all, [] none, otherwise those", async () => {
      await store.organizations.insert(org("o3", { createdAt: at(1) }));
      await store.organizations.insert(org("o2", { createdAt: at(2) }));
      await store.organizations.insert(org("o1", { createdAt: at(2) }));
      const ids = async (filter: { ids?: string[] }) =>
        (await store.organizations.list({ ...filter, limit: 10, offset: 0 })).map((o) => o.id);
      expect(await ids({})).toEqual(["o3", "o1", "o2"]);
      expect(await ids({ ids: undefined })).toEqual(["o3", "o1", "o2"]);
      expect(await ids({ ids: [] })).toEqual([]);
      expect(await ids({ ids: ["o2", "o3", "missing"] })).toEqual(["o3", "o2"]);
      expect(await store.organizations.count()).toBe(3);
      expect(await store.organizations.count({ ids: [] })).toBe(0);
      expect(await store.organizations.count({ ids: ["o1", "missing"] })).toBe(1);
      const bad = await expectDroverRejection(
        store.organizations.count({ ids: [1] as unknown as string[] }),
      );
      expect(bad.details[0]?.field).toBe("ids");
    });

    test("a long ids list is one bound parameter, not one per id", async () => {
      await store.organizations.insert(org("o1"));
      const many = Array.from({ length: 40_000 }, (_, i) => `x${i}`).concat("o1");
      expect(await store.organizations.count({ ids: many })).toBe(1);
    });

    test("offset pagination returns every row once", async () => {
      const all: string[] = [];
      for (let i = 0; i < 11; i++) {
        const id = `o${String(i).padStart(2, "0")}`;
        all.push(id);
        // Few distinct creation times, so the id tie-break decides the order.
        await store.organizations.insert(org(id, { createdAt: at(i % 3) }));
      }
      const pages = await allPages((offset) => store.organizations.list({ limit: 4, offset }), 4);
      expect([...pages].sort()).toEqual(all);
    });

    test("update: name and slug, not_found, slug taken", async () => {
      await store.organizations.insert(org("o1"));
      await store.organizations.insert(org("o2", { slug: "taken" }));
      const row = await store.organizations.update("o1", { name: "New", slug: "new" }, at(5));
      expect(row).toEqual({ ...org("o1"), name: "New", slug: "new", updatedAt: at(5) });
      const touched = await store.organizations.update("o1", {}, at(6));
      expect(touched).toMatchObject({ name: "New", slug: "new", updatedAt: at(6) });
      expect(
        (await expectDroverRejection(store.organizations.update("nope", { name: "x" }, at(7))))
          .code,
      ).toBe("not_found");
      const taken = await expectDroverRejection(
        store.organizations.update("o1", { slug: "taken" }, at(7)),
      );
      expect(taken.code).toBe("already_exists");
      expect(taken.message).toContain("taken");
      expect(
        (await expectDroverRejection(store.organizations.update("o1", { slug: "" }, at(7)))).code,
      ).toBe("invalid_argument");
      expect((await store.organizations.get("o1"))?.slug).toBe("new");
    });

    test("delete cascades to workspaces and memberships; agents stay, unassigned", async () => {
      await store.organizations.insert(org("o1"));
      await store.organizations.insert(org("o2"));
      await store.workspaces.insert(workspace("w1", "o1"));
      await store.workspaces.insert(workspace("w2", "o2"));
      await store.users.insert(user("u1"));
      await store.memberships.upsert({ userId: "u1", scope: "o1", role: "admin", createdAt: t0 });
      await store.memberships.upsert({ userId: "u1", scope: "o2", role: "viewer", createdAt: t0 });
      await store.memberships.upsert({ userId: "u1", scope: "*", role: "viewer", createdAt: t0 });
      await store.agents.insert({ ...newAgent("a1"), workspaceId: "w1" });
      await store.agents.insert({ ...newAgent("a2"), workspaceId: "w2" });

      expect(await store.organizations.delete("o1")).toBe(true);
      expect(await store.organizations.delete("o1")).toBe(false);
      expect(await store.organizations.get("o1")).toBeNull();
      expect(await store.workspaces.get("w1")).toBeNull();
      expect(await store.workspaces.get("w2")).not.toBeNull();
      expect((await store.memberships.listForUser("u1")).map((m) => m.scope)).toEqual(["*", "o2"]);
      expect(await store.agents.get("a1")).toMatchObject({ id: "a1", workspaceId: null });
      expect((await store.agents.get("a2"))?.workspaceId).toBe("w2");
    });

    test("delete inside a transaction is undone with it", async () => {
      await store.organizations.insert(org("o1"));
      await store.workspaces.insert(workspace("w1", "o1"));
      await store.users.insert(user("u1"));
      await store.memberships.upsert({ userId: "u1", scope: "o1", role: "owner", createdAt: t0 });
      const boom = new Error("boom");
      const attempt = store.transaction(async (tx: Repositories) => {
        expect(await tx.organizations.delete("o1")).toBe(true);
        expect(await tx.memberships.listForUser("u1")).toEqual([]);
        throw boom;
      });
      await expect(attempt).rejects.toBe(boom);
      expect(await store.organizations.get("o1")).not.toBeNull();
      expect(await store.workspaces.get("w1")).not.toBeNull();
      expect(await store.memberships.listForUser("u1")).toHaveLength(1);
      // And committed with it.
      await store.transaction(async (tx) => tx.organizations.delete("o1"));
      expect(await store.memberships.listForUser("u1")).toEqual([]);
    });
  });

  describe("memberships", () => {
    beforeEach(async () => {
      await store.users.insert(user("u1"));
      await store.organizations.insert(org("o1"));
    });

    test("upsert creates, then changes only the role; listForUser; delete", async () => {
      const created = await store.memberships.upsert({
        userId: "u1",
        scope: "o1",
        role: "viewer",
        createdAt: t0,
      });
      expect(created).toEqual({ userId: "u1", scope: "o1", role: "viewer", createdAt: t0 });
      const changed = await store.memberships.upsert({
        userId: "u1",
        scope: "o1",
        role: "admin",
        createdAt: at(9),
      });
      expect(changed).toEqual({ ...created, role: "admin" });
      await store.memberships.upsert({ userId: "u1", scope: "*", role: "owner", createdAt: t0 });
      expect(await store.memberships.listForUser("u1")).toEqual([
        { userId: "u1", scope: "*", role: "owner", createdAt: t0 },
        { userId: "u1", scope: "o1", role: "admin", createdAt: t0 },
      ]);
      expect(await store.memberships.listForUser("nobody")).toEqual([]);
      expect(await store.memberships.delete("u1", "o1")).toBe(true);
      expect(await store.memberships.delete("u1", "o1")).toBe(false);
      expect((await store.memberships.listForUser("u1")).map((m) => m.scope)).toEqual(["*"]);
    });

    test("unknown user or organization is not_found and writes nothing", async () => {
      const noUser = await expectDroverRejection(
        store.memberships.upsert({ userId: "nope", scope: "o1", role: "admin", createdAt: t0 }),
      );
      expect(noUser.code).toBe("not_found");
      expect(noUser.message).toContain("nope");
      const noOrg = await expectDroverRejection(
        store.memberships.upsert({ userId: "u1", scope: "o9", role: "admin", createdAt: t0 }),
      );
      expect(noOrg.code).toBe("not_found");
      expect(noOrg.message).toContain("o9");
      expect(await store.memberships.listForUser("u1")).toEqual([]);
      // The same inside a transaction: the failed upsert leaves the rest of it intact.
      await store.transaction(async (tx) => {
        await tx.memberships.upsert({ userId: "u1", scope: "*", role: "viewer", createdAt: t0 });
        await expectDroverRejection(
          tx.memberships.upsert({ userId: "u1", scope: "o9", role: "admin", createdAt: t0 }),
        );
      });
      expect((await store.memberships.listForUser("u1")).map((m) => m.scope)).toEqual(["*"]);
    });

    test("upsert validates the role and scope", async () => {
      for (const bad of [
        { userId: "u1", scope: "o1", role: "root" as "owner", createdAt: t0 },
        { userId: "u1", scope: "", role: "owner" as const, createdAt: t0 },
      ]) {
        expect((await expectDroverRejection(store.memberships.upsert(bad))).code).toBe(
          "invalid_argument",
        );
      }
    });
  });

  describe("workspaces", () => {
    beforeEach(async () => {
      await store.organizations.insert(org("o1"));
      await store.organizations.insert(org("o2"));
    });

    test("insert and get; slugs are unique per organization", async () => {
      const row = await store.workspaces.insert(workspace("w1", "o1", { slug: "prod" }));
      expect(row).toEqual(workspace("w1", "o1", { slug: "prod" }));
      expect(await store.workspaces.get("w1")).toEqual(row);
      expect(await store.workspaces.get("nope")).toBeNull();
      await store.workspaces.insert(workspace("w2", "o2", { slug: "prod" }));
      const taken = await expectDroverRejection(
        store.workspaces.insert(workspace("w3", "o1", { slug: "prod" })),
      );
      expect(taken.code).toBe("already_exists");
      expect(taken.message).toContain("prod");
      expect(
        (await expectDroverRejection(store.workspaces.insert(workspace("w1", "o2")))).code,
      ).toBe("already_exists");
      const noOrg = await expectDroverRejection(store.workspaces.insert(workspace("w4", "o9")));
      expect(noOrg.code).toBe("not_found");
      expect(noOrg.message).toContain("o9");
      expect(
        (await expectDroverRejection(store.workspaces.insert(workspace("w5", "o1", { name: "" }))))
          .code,
      ).toBe("invalid_argument");
    });

    test("list and count by organizationIds and organizationId", async () => {
      await store.workspaces.insert(workspace("w1", "o1", { createdAt: at(2) }));
      await store.workspaces.insert(workspace("w2", "o1", { createdAt: at(1) }));
      await store.workspaces.insert(workspace("w3", "o2", { createdAt: at(3) }));
      const ids = async (filter: { organizationIds?: string[]; organizationId?: string }) =>
        (await store.workspaces.list({ ...filter, limit: 10, offset: 0 })).map((w) => w.id);
      expect(await ids({})).toEqual(["w2", "w1", "w3"]);
      expect(await ids({ organizationIds: [] })).toEqual([]);
      expect(await ids({ organizationIds: ["o2"] })).toEqual(["w3"]);
      expect(await ids({ organizationIds: ["o1", "o2"] })).toEqual(["w2", "w1", "w3"]);
      expect(await ids({ organizationId: "o1" })).toEqual(["w2", "w1"]);
      expect(await ids({ organizationIds: ["o2"], organizationId: "o1" })).toEqual([]);
      expect(await ids({ organizationIds: ["o1", "o2"], organizationId: "o2" })).toEqual(["w3"]);
      expect(await store.workspaces.count()).toBe(3);
      expect(await store.workspaces.count({ organizationIds: [] })).toBe(0);
      expect(await store.workspaces.count({ organizationId: "o1" })).toBe(2);
      expect(await store.workspaces.count({ organizationIds: ["o2", "o9"] })).toBe(1);
    });

    test("offset pagination returns every row once", async () => {
      const all: string[] = [];
      for (let i = 0; i < 9; i++) {
        const id = `w${i}`;
        all.push(id);
        await store.workspaces.insert(workspace(id, i % 2 === 0 ? "o1" : "o2", { createdAt: t0 }));
      }
      const pages = await allPages((offset) => store.workspaces.list({ limit: 2, offset }), 2);
      expect([...pages].sort()).toEqual(all);
    });

    test("update: name and slug, not_found, slug taken in its organization", async () => {
      await store.workspaces.insert(workspace("w1", "o1", { slug: "a" }));
      await store.workspaces.insert(workspace("w2", "o1", { slug: "b" }));
      await store.workspaces.insert(workspace("w3", "o2", { slug: "c" }));
      const row = await store.workspaces.update("w1", { name: "N", slug: "c" }, at(4));
      expect(row).toEqual({ ...workspace("w1", "o1"), name: "N", slug: "c", updatedAt: at(4) });
      const settings = {
        globalSettings: { nginxDirectives: { gzip: "on" }, envVars: { TZ: "UTC" } },
        alertThresholds: { cpu_percent: { warning: 50, clear: 40 } },
      };
      const withSettings = await store.workspaces.update("w1", settings, at(5));
      expect(withSettings).toEqual({ ...row, ...settings, updatedAt: at(5) });
      // null clears; absent leaves alone.
      const cleared = await store.workspaces.update("w1", { globalSettings: null }, at(6));
      expect(cleared).toEqual({ ...withSettings, globalSettings: null, updatedAt: at(6) });
      const taken = await expectDroverRejection(
        store.workspaces.update("w1", { slug: "b" }, at(5)),
      );
      expect(taken.code).toBe("already_exists");
      expect(taken.message).toContain("b");
      expect(taken.message).toContain("o1");
      expect(
        (await expectDroverRejection(store.workspaces.update("nope", { name: "x" }, at(5)))).code,
      ).toBe("not_found");
      // Only name and slug are patchable, whatever the caller's object holds.
      const moved = await store.workspaces.update(
        "w1",
        { organizationId: "o2" } as unknown as { name?: string },
        at(6),
      );
      expect(moved.organizationId).toBe("o1");
    });

    test("delete unassigns its agents", async () => {
      await store.workspaces.insert(workspace("w1", "o1"));
      await store.agents.insert({ ...newAgent("a1"), workspaceId: "w1" });
      expect(await store.workspaces.delete("w1")).toBe(true);
      expect(await store.workspaces.delete("w1")).toBe(false);
      expect((await store.agents.get("a1"))?.workspaceId).toBeNull();
    });
  });

  describe("refreshTokens", () => {
    beforeEach(async () => {
      await store.users.insert(user("u1"));
    });

    test("insert and get", async () => {
      const row = await store.refreshTokens.insert(refresh("t1"));
      expect(row).toEqual({ ...refresh("t1"), usedAt: null, revokedAt: null });
      expect(await store.refreshTokens.get(sha256("t1"))).toEqual(row);
      expect(await store.refreshTokens.get(sha256("t2"))).toBeNull();
      expect((await expectDroverRejection(store.refreshTokens.insert(refresh("t1")))).code).toBe(
        "already_exists",
      );
    });

    test("insert takes only a SHA-256 hex id and a known user", async () => {
      for (const id of ["raw-token", sha256("t").toUpperCase(), sha256("t").slice(1)]) {
        const error = await expectDroverRejection(
          store.refreshTokens.insert({ ...refresh("t"), id }),
        );
        expect(error.details[0]?.field).toBe("id");
      }
      const noUser = await expectDroverRejection(
        store.refreshTokens.insert(refresh("t", { userId: "nope" })),
      );
      expect(noUser.code).toBe("not_found");
    });

    test("use marks the token used once", async () => {
      await store.refreshTokens.insert(refresh("t1"));
      const used = await store.refreshTokens.use(sha256("t1"), at(10));
      expect(used).toEqual({ ...refresh("t1"), usedAt: at(10), revokedAt: null });
      expect(await store.refreshTokens.use(sha256("t1"), at(11))).toBeNull();
      expect((await store.refreshTokens.get(sha256("t1")))?.usedAt).toEqual(at(10));
      expect(await store.refreshTokens.use(sha256("unknown"), at(11))).toBeNull();
    });

    test("use refuses expired and revoked tokens", async () => {
      await store.refreshTokens.insert(refresh("edge", { expiresAt: at(100) }));
      await store.refreshTokens.insert(refresh("late", { expiresAt: at(100) }));
      await store.refreshTokens.insert(refresh("revoked", { familyId: "fam-2" }));
      expect(await store.refreshTokens.use(sha256("late"), at(100))).toBeNull();
      expect((await store.refreshTokens.use(sha256("edge"), at(99)))?.usedAt).toEqual(at(99));
      await store.refreshTokens.revokeFamily("fam-2", at(1));
      expect(await store.refreshTokens.use(sha256("revoked"), at(2))).toBeNull();
      expect((await store.refreshTokens.get(sha256("revoked")))?.usedAt).toBeNull();
    });

    test("two concurrent uses: exactly one gets the row (same store)", async () => {
      await store.refreshTokens.insert(refresh("race"));
      const results = await Promise.all([
        store.refreshTokens.use(sha256("race"), at(1)),
        store.refreshTokens.use(sha256("race"), at(1)),
      ]);
      expect(results.filter((r) => r !== null)).toHaveLength(1);
    });

    test("two concurrent uses: exactly one gets the row (two connections, one file)", async () => {
      const path = freshPath();
      const a = await createStore(await open(path));
      const b = await createStore(await open(path));
      try {
        await a.users.insert(user("u1"));
        for (let i = 0; i < 20; i++) {
          await a.refreshTokens.insert(refresh(`race-${i}`));
          const results = await Promise.all([
            a.refreshTokens.use(sha256(`race-${i}`), at(1)),
            b.refreshTokens.use(sha256(`race-${i}`), at(1)),
          ]);
          expect(results.filter((r) => r !== null)).toHaveLength(1);
        }
      } finally {
        await a.close();
        await b.close();
      }
    });

    test("revokeFamily counts only the family's unrevoked tokens", async () => {
      await store.refreshTokens.insert(refresh("a"));
      await store.refreshTokens.insert(refresh("b"));
      await store.refreshTokens.insert(refresh("c", { familyId: "fam-2" }));
      await store.refreshTokens.use(sha256("a"), at(1));
      expect(await store.refreshTokens.revokeFamily("fam-1", at(2))).toBe(2);
      expect(await store.refreshTokens.revokeFamily("fam-1", at(3))).toBe(0);
      expect(await store.refreshTokens.revokeFamily("nope", at(3))).toBe(0);
      expect((await store.refreshTokens.get(sha256("a")))?.revokedAt).toEqual(at(2));
      expect((await store.refreshTokens.get(sha256("c")))?.revokedAt).toBeNull();
    });
  });

  describe("agents in workspaces", () => {
    beforeEach(async () => {
      await store.organizations.insert(org("o1"));
      await store.workspaces.insert(workspace("w1", "o1"));
      await store.workspaces.insert(workspace("w2", "o1"));
    });

    test("insert with or without a workspace; an unknown one is not_found", async () => {
      expect((await store.agents.insert(newAgent("free"))).workspaceId).toBeNull();
      const row = await store.agents.insert({ ...newAgent("a1"), workspaceId: "w1" });
      expect(row.workspaceId).toBe("w1");
      expect(await store.agents.get("a1")).toEqual(row);
      const missing = await expectDroverRejection(
        store.agents.insert({ ...newAgent("a2"), workspaceId: "w9" }),
      );
      expect(missing.code).toBe("not_found");
      expect(missing.message).toContain("w9");
      expect(await store.agents.get("a2")).toBeNull();
    });

    test("update moves an agent between workspaces and out of them", async () => {
      await store.agents.insert(newAgent("a1"));
      expect((await store.agents.update("a1", { workspaceId: "w1" }, at(1))).workspaceId).toBe(
        "w1",
      );
      // A patch without workspaceId leaves it alone.
      expect((await store.agents.update("a1", { name: "x" }, at(2))).workspaceId).toBe("w1");
      expect((await store.agents.update("a1", { workspaceId: null }, at(3))).workspaceId).toBe(
        null,
      );
      const missing = await expectDroverRejection(
        store.agents.update("a1", { workspaceId: "w9" }, at(4)),
      );
      expect(missing.code).toBe("not_found");
      expect(missing.message).toContain("w9");
      expect(
        (await expectDroverRejection(store.agents.update("zz", { workspaceId: "w1" }, at(4))))
          .message,
      ).toContain("zz");
    });

    test("list and count by workspaceId and workspaceIds", async () => {
      await store.agents.insert({ ...newAgent("a"), workspaceId: "w1" });
      await store.agents.insert({ ...newAgent("b"), workspaceId: "w2", state: "offline" });
      await store.agents.insert({ ...newAgent("c"), workspaceId: "w1" });
      await store.agents.insert(newAgent("d"));
      const ids = async (filter: Omit<Parameters<Store["agents"]["list"]>[0], "limit">) =>
        (await store.agents.list({ ...filter, limit: 10 })).map((a) => a.id);
      expect(await ids({})).toEqual(["a", "b", "c", "d"]);
      expect(await ids({ workspaceIds: undefined })).toEqual(["a", "b", "c", "d"]);
      expect(await ids({ workspaceId: "w1" })).toEqual(["a", "c"]);
      expect(await ids({ workspaceIds: [] })).toEqual([]);
      expect(await ids({ workspaceIds: ["w2", "w9"] })).toEqual(["b"]);
      expect(await ids({ workspaceIds: ["w1", "w2"], state: "online" })).toEqual(["a", "c"]);
      expect(await ids({ workspaceIds: ["w1"], workspaceId: "w2" })).toEqual([]);
      expect(await store.agents.count({ workspaceId: "w1" })).toBe(2);
      expect(await store.agents.count({ workspaceIds: [] })).toBe(0);
      expect(await store.agents.count({ workspaceIds: ["w1", "w2"] })).toBe(3);
      const bad = await expectDroverRejection(
        store.agents.count({ workspaceIds: "w1" as unknown as string[] }),
      );
      expect(bad.details[0]?.field).toBe("workspaceIds");
    });

    test("offset pagination returns every row once, and combines with afterId", async () => {
      const all: string[] = [];
      for (let i = 0; i < 10; i++) {
        const id = `a${i}`;
        all.push(id);
        await store.agents.insert({ ...newAgent(id), workspaceId: i % 2 === 0 ? "w1" : "w2" });
      }
      const pages = await allPages((offset) => store.agents.list({ limit: 3, offset }), 3);
      expect(pages).toEqual(all);
      const inW1 = await allPages(
        (offset) => store.agents.list({ workspaceId: "w1", limit: 2, offset }),
        2,
      );
      expect(inW1).toEqual(["a0", "a2", "a4", "a6", "a8"]);
      const after = await store.agents.list({ limit: 2, offset: 1, afterId: "a5" });
      expect(after.map((a) => a.id)).toEqual(["a7", "a8"]);
      expect((await expectDroverRejection(store.agents.list({ limit: 2, offset: -1 }))).code).toBe(
        "invalid_argument",
      );
    });
  });

  describe("joinTokens with a workspace", () => {
    test("insert stores the workspace id and consume returns it", async () => {
      const base = {
        role: "agent" as const,
        labels: {},
        createdAt: t0,
        expiresAt: at(60_000),
      };
      const row = await store.joinTokens.insert({ ...base, nonceId: "n1", workspaceId: "w1" });
      expect(row.workspaceId).toBe("w1");
      expect((await store.joinTokens.get("n1"))?.workspaceId).toBe("w1");
      expect((await store.joinTokens.consume("n1", "agent-1", at(1))).workspaceId).toBe("w1");
      const plain = await store.joinTokens.insert({ ...base, nonceId: "n2" });
      expect(plain.workspaceId).toBeNull();
      expect((await store.joinTokens.consume("n2", "agent-2", at(1))).workspaceId).toBeNull();
    });
  });

  test("a database at 0000_init upgrades with its agents kept, unassigned", async () => {
    const path = freshPath();
    const opened = await open(path);
    const init = migrations.filter((m) => m.tag === "0000_init");
    expect(await migrate(opened.db, init)).toEqual(["0000_init"]);
    await opened.db.run(
      sql`INSERT INTO agents (id, name, hostname, ip, version, labels, capabilities, state, created_at, updated_at)
          VALUES ('old', 'old', 'old.lan', '10.0.0.1', '1.0.0', '{}', '[]', 'online', 0, 0)`,
    );
    const upgraded = await createStore(opened);
    try {
      expect(await upgraded.agents.get("old")).toMatchObject({ id: "old", workspaceId: null });
      await upgraded.organizations.insert(org("o1"));
      await upgraded.workspaces.insert(workspace("w1", "o1"));
      await upgraded.agents.update("old", { workspaceId: "w1" }, at(1));
      // The ALTER-added foreign key keeps its ON DELETE SET NULL.
      await upgraded.organizations.delete("o1");
      expect((await upgraded.agents.get("old"))?.workspaceId).toBeNull();
    } finally {
      await upgraded.close();
    }
  });
});
