// Fails when lib/gen, the embedded migrations or the web UI bundle no longer match their sources:
// regenerates into a scratch copy with the committed template and compares.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

const scratch = mkdtempSync(join(tmpdir(), "drover-gen-"));
let stale: string[] = [];
try {
  cpSync("proto", join(scratch, "proto"), { recursive: true });
  cpSync("buf.yaml", join(scratch, "buf.yaml"));
  cpSync("buf.gen.yaml", join(scratch, "buf.gen.yaml"));
  execFileSync("buf", ["generate"], { cwd: scratch, stdio: "inherit" });
  const fresh = join(scratch, "lib/gen");
  const names = new Set([...files("lib/gen"), ...files(fresh)]);
  stale = [...names].filter((name) => {
    try {
      return (
        readFileSync(join("lib/gen", name), "utf8") !== readFileSync(join(fresh, name), "utf8")
      );
    } catch {
      return true;
    }
  });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (stale.length > 0) {
  console.error(
    `lib/gen is stale (${stale.join(", ")}): run npm run generate and commit the result`,
  );
  process.exit(1);
}
execFileSync("bun", ["scripts/embed-migrations.ts", "--check"], { stdio: "inherit" });
execFileSync("bun", ["scripts/build-ui.ts", "--check"], { stdio: "inherit" });
console.log("generated code is fresh");
