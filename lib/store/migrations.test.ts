import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { migrations } from "./migrations.gen.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

test("migrations.gen.ts is in sync with migrations/*.sql", () => {
  const result = spawnSync(process.execPath, ["scripts/embed-migrations.ts", "--check"], {
    cwd: root,
    encoding: "utf8",
  });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
});

test("embedded migrations are split into single statements", () => {
  expect(migrations.length).toBeGreaterThan(0);
  for (const { tag, statements } of migrations) {
    expect(tag).toMatch(/^\d{4}_[\w-]+$/);
    for (const statement of statements) {
      expect(statement).not.toContain("statement-breakpoint");
      expect(statement.trim()).toBe(statement);
    }
  }
});
