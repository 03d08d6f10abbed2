// Issue 10, the first hour: the data dirs the README suggests, used inside the repo, are ignored by git and Biome (tsc reads only the dirs tsconfig.json lists).
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Harness, repoRoot } from "./harness.ts";

setDefaultTimeout(40_000);

/** What the README and the printed commands put in the repo: server and agent data dirs, and a join's staging dir. */
const dataDirs = [".drover", "agent-data", "drover-data", `.agent-data.joining-${process.pid}`];
const probe = `first-hour-probe-${process.pid}`;
/** Badly formatted and linted: Biome and tsc would both complain if they read these. */
const probeFiles = dataDirs.flatMap((dir) => [
  join(dir, `${probe}.ts`),
  join(dir, "files", `${probe}.json`),
]);
const created: string[] = [];
let h: Harness;

beforeAll(async () => {
  h = await Harness.create("data-dirs");
  for (const dir of dataDirs) {
    const path = join(repoRoot, dir);
    // A dir someone uses stays; only what this test made goes.
    if (!existsSync(path)) created.push(path);
    await mkdir(join(path, "files"), { recursive: true });
  }
  for (const file of probeFiles) {
    await writeFile(
      join(repoRoot, file),
      file.endsWith(".ts") ? "var   unused : any = 1\n" : '{"a":1,   "b":[\n]}',
    );
  }
});

afterAll(async () => {
  for (const file of probeFiles) await rm(join(repoRoot, file), { force: true });
  for (const path of created) await rm(path, { recursive: true, force: true });
  await h?.cleanup();
});

test("git ignores them", async () => {
  const result = await h.exec("git", ["check-ignore", ...probeFiles], { cwd: repoRoot });
  expect(result.stdout.trim().split("\n").sort()).toEqual([...probeFiles].sort());
});

test("Biome reads none of them, with and without git's ignore file", async () => {
  for (const vcs of ["true", "false"]) {
    const result = await h.exec(
      "npx",
      ["biome", "check", `--vcs-enabled=${vcs}`, "--reporter=json", ...dataDirs],
      { cwd: repoRoot },
    );
    const report = JSON.parse(
      result.stdout.split("\n").find((line) => line.startsWith("{")) ?? "{}",
    );
    expect(report.summary).toMatchObject({ changed: 0, unchanged: 0, errors: 0, warnings: 0 });
    expect(report.diagnostics).toEqual([]);
  }
});
