// Issue 15, builds: npm run build makes a linux-x64 and a linux-arm64 executable and their
// SHA256SUMS; the README's checksum line passes verbatim; each binary names its target and commit.
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./harness.ts";

const dist = join(repoRoot, "dist");

/** ELF e_machine (bytes 18-19, little-endian): what CPU a binary is for. */
function elfMachine(path: string): number {
  const header = readFileSync(path).subarray(0, 20);
  expect(header.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  return header.readUInt16LE(18);
}

test("two executables, for x86-64 and AArch64", () => {
  expect(elfMachine(join(dist, "drover-linux-x64"))).toBe(62); // EM_X86_64
  expect(elfMachine(join(dist, "drover-linux-arm64"))).toBe(183); // EM_AARCH64
});

test("SHA256SUMS lists both, and the README's check passes verbatim beside the one downloaded", () => {
  const sums = readFileSync(join(dist, "SHA256SUMS"), "utf8");
  expect(sums).toMatch(/^[0-9a-f]{64} {2}drover-linux-x64\n[0-9a-f]{64} {2}drover-linux-arm64\n$/);
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const line = /^sha256sum --check --ignore-missing SHA256SUMS/m.exec(readme)?.[0];
  expect(line).toBeDefined();
  const download = mkdtempSync(join(tmpdir(), "drover-download-"));
  try {
    copyFileSync(join(dist, "SHA256SUMS"), join(download, "SHA256SUMS"));
    copyFileSync(join(dist, "drover-linux-arm64"), join(download, "drover-linux-arm64"));
    const ok = spawnSync("bash", ["-c", line ?? ""], { cwd: download, encoding: "utf8" });
    expect(ok.stdout).toBe("drover-linux-arm64: OK\n");
    expect(ok.status).toBe(0);
    // A damaged download fails the same check.
    const bytes = readFileSync(join(download, "drover-linux-arm64"));
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 0xff;
    writeFileSync(join(download, "drover-linux-arm64"), bytes);
    const bad = spawnSync("bash", ["-c", line ?? ""], { cwd: download, encoding: "utf8" });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toContain("drover-linux-arm64: FAILED");
  } finally {
    rmSync(download, { recursive: true, force: true });
  }
});

test("the x64 binary names its target and the commit it was built from", () => {
  const shown = spawnSync(join(dist, "drover-linux-x64"), ["version", "-o", "json"], {
    encoding: "utf8",
  });
  expect(shown.status).toBe(0);
  const head = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], {
    cwd: repoRoot,
    encoding: "utf8",
  });
  expect(JSON.parse(shown.stdout)).toMatchObject({
    target: "linux-x64",
    commit: expect.stringMatching(new RegExp(`^${head.stdout.trim()}(-dirty)?$`)),
  });
});
