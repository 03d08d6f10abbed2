/**
 * Builds the appliance: one executable per release target, their checksums,
 * and dist/drover for this machine.
 *
 *   dist/drover-linux-x64     dist/drover-linux-arm64 (Raspberry Pi 3/4/5 with a 64-bit OS)
 *   dist/SHA256SUMS           `sha256sum -c SHA256SUMS` checks a download
 *   dist/drover               a copy of this machine's target (or a host build elsewhere)
 *
 * Bun fetches each target's runtime from the npm registry on first use. The
 * commit and the target are compiled in, for `drover version`.
 *
 *   npx bun scripts/build-bin.ts [--out DIR]
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const root = resolve(import.meta.dir, "..");
const { values } = parseArgs({ options: { out: { type: "string", default: "dist" } } });
const out = resolve(root, values.out ?? "dist");

/** Release targets: `drover-<name>` is compiled with Bun's `bun-<name>` runtime. */
const targets = ["linux-x64", "linux-arm64"] as const;

function git(...args: string[]): string | undefined {
  const result = spawnSync("git", args, { cwd: root, encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The commit, with "-dirty" when tracked files differ from it; "unknown" outside git. */
function commitOf(): string {
  const head = git("rev-parse", "--short=12", "HEAD");
  if (head === undefined) return "unknown";
  return git("diff", "--quiet", "HEAD") === undefined ? `${head}-dirty` : head;
}

function compile(outfile: string, target: string | undefined, commit: string): void {
  const args = ["build", "--compile", "--minify", "appliance/main.ts", "--outfile", outfile];
  if (target !== undefined) args.push(`--target=bun-${target}`);
  args.push(`--define=DROVER_BUILD_COMMIT=${JSON.stringify(commit)}`);
  args.push(`--define=DROVER_BUILD_TARGET=${JSON.stringify(target ?? hostTarget())}`);
  const started = performance.now();
  const result = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
  if (result.status !== 0) {
    console.error(
      `build of ${outfile} failed (bun build exited ${result.status ?? result.signal})`,
    );
    process.exit(1);
  }
  console.log(`built ${outfile} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

function hostTarget(): string {
  return `${process.platform}-${process.arch}`;
}

mkdirSync(out, { recursive: true });
const commit = commitOf();
const sums: string[] = [];
for (const target of targets) {
  const name = `drover-${target}`;
  compile(join(out, name), target, commit);
  const digest = createHash("sha256")
    .update(readFileSync(join(out, name)))
    .digest("hex");
  sums.push(`${digest}  ${name}\n`);
}
writeFileSync(join(out, "SHA256SUMS"), sums.join(""));

const host = hostTarget();
if ((targets as readonly string[]).includes(host)) {
  copyFileSync(join(out, `drover-${host}`), join(out, "drover"));
} else {
  compile(join(out, "drover"), undefined, commit);
}
