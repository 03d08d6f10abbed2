/**
 * Smoke test of lib/store on the running runtime's driver: libsql under Node
 * and Deno, bun:sqlite under Bun. Exits non-zero on any failure.
 *
 *   npx deno run -A scripts/store-smoke.ts
 *   npx tsx scripts/store-smoke.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSelector } from "../lib/selector/index.ts";
import { openStore } from "../lib/store/index.ts";
import { newAgent, t0 } from "../test/support/store-data.ts";

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`smoke check failed: ${what}`);
  console.log(`ok - ${what}`);
}

async function rejects(promise: Promise<unknown>, message: string): Promise<boolean> {
  return promise.then(
    () => false,
    (error: unknown) => error instanceof Error && error.message === message,
  );
}

async function main(): Promise<void> {
  const runtime =
    typeof (globalThis as { Bun?: unknown }).Bun !== "undefined"
      ? "bun"
      : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"
        ? "deno"
        : "node";
  const dir = mkdtempSync(join(tmpdir(), "drover-smoke-"));
  const path = join(dir, "drover.db");
  try {
    const store = await openStore({ path });
    console.log(`runtime=${runtime} driver=${store.driver}`);
    check(store.driver === (runtime === "bun" ? "bun-sqlite" : "libsql"), "driver fits runtime");

    await store.joinTokens.insert({
      nonceId: "n1",
      role: "agent",
      labels: { zone: "eu" },
      createdAt: t0,
      expiresAt: new Date(t0.getTime() + 60_000),
    });
    const used = await store.joinTokens.consume("n1", "agent-1", t0);
    check(used.usedBy === "agent-1", "consume marks the token used");
    check(
      await rejects(store.joinTokens.consume("n1", "agent-2", t0), "join token already used"),
      "second consume is refused",
    );

    await store.agents.insert(newAgent("a", { zone: "eu", "example.com/gpu": "a100" }));
    await store.agents.insert(newAgent("b", { zone: "us" }));
    await store.agents.insert(newAgent("c", {}));

    const boom = new Error("boom");
    const rolledBack = await store
      .transaction(async (tx) => {
        await tx.agents.insert(newAgent("d", { zone: "eu" }));
        await tx.events.append({ type: "agent.created", subjectId: "d", data: {}, at: t0 });
        throw boom;
      })
      .then(
        () => false,
        (error: unknown) => error === boom,
      );
    check(rolledBack, "a throwing transaction rethrows its error");
    check((await store.agents.get("d")) === null, "its agent insert was rolled back");
    check((await store.events.latestSeq()) === 0, "its event append was rolled back");

    check(
      await store
        .transaction(async () => {
          await store.agents.count();
        })
        .then(
          () => false,
          (error: unknown) => (error as { code?: unknown }).code === "internal",
        ),
      "using the store inside its own transaction fails instead of deadlocking",
    );

    const ids = async (text: string) =>
      (await store.agents.list({ selector: parseSelector(text), limit: 10 }))
        .map((r) => r.id)
        .join(",");
    check((await ids("zone=eu")) === "a", "selector zone=eu");
    check((await ids("zone!=eu")) === "b,c", "selector zone!=eu matches absent keys");
    check((await ids("example.com/gpu")) === "a", "selector exists with prefixed key");
    check((await ids("!zone")) === "c", "selector !zone");

    const e1 = await store.events.append({ type: "t", subjectId: "s", data: { n: 1 }, at: t0 });
    const e2 = await store.events.append({ type: "t", subjectId: "s", data: { n: 2 }, at: t0 });
    check(e2.seq > e1.seq, "event seq increases");
    await store.close();

    const reopened = await openStore({ path });
    check((await reopened.agents.count()) === 3, "data survives reopen; migrations idempotent");
    await reopened.close();
    console.log("store smoke: all checks passed");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
