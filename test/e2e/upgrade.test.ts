// Issue 15, upgrades: data dirs written by earlier builds open with this binary (migrations run,
// identities keep working, agents reconnect without a token), and an agent and a server one
// release apart talk to each other in both directions. The earlier binaries are built here from
// git, so the test needs the repository's history (a clone without --depth).

import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { migrations } from "../../lib/store/migrations.gen.ts";
import { binary, Harness, repoRoot, waitFor } from "./harness.ts";

setDefaultTimeout(120_000);

/**
 * Earlier builds. Before the web UI's schema (two migrations since) and the one agent channel:
 * the oldest data dir this release promises to open.
 */
const beforeSchema = "a96013a3e4b0";
/** The one agent channel's first commit: every build since speaks its agent protocol. */
const firstChannel = "8feeca120982";

/** Builds drover at `commit` into .tmp/builds/<commit>/ (kept: the tree never changes). */
function buildAt(commit: string): string {
  const dir = join(repoRoot, ".tmp", "builds", commit);
  const built = join(dir, "drover");
  if (existsSync(built)) return built;
  const found = spawnSync("git", ["cat-file", "-e", `${commit}^{commit}`], { cwd: repoRoot });
  if (found.status !== 0)
    throw new Error(
      `commit ${commit} is not in this clone: the upgrade test needs the history (no --depth)`,
    );
  mkdirSync(dir, { recursive: true });
  const unpacked = spawnSync(
    "bash",
    ["-c", `git archive ${commit} | tar -x -C "$1"`, "archive", dir],
    {
      cwd: repoRoot,
    },
  );
  if (unpacked.status !== 0) throw new Error(`git archive ${commit} failed: ${unpacked.stderr}`);
  // Those builds' dependencies are a subset of today's.
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"));
  const compiled = spawnSync(
    process.execPath,
    ["build", "--compile", "appliance/main.ts", "--outfile", built],
    { cwd: dir, encoding: "utf8" },
  );
  if (compiled.status !== 0) throw new Error(`building ${commit} failed:\n${compiled.stderr}`);
  return built;
}

function appliedMigrations(dataDir: string): string[] {
  const db = new Database(join(dataDir, "drover.db"), { readonly: true });
  try {
    return db
      .query<{ tag: string }, []>("SELECT tag FROM drover_migrations ORDER BY tag")
      .all()
      .map((row) => row.tag);
  } finally {
    db.close();
  }
}

describe("a data dir from an earlier build, started by this one", () => {
  let h: Harness;
  let old: string;

  beforeAll(async () => {
    old = buildAt(beforeSchema);
    h = await Harness.create("upgrade");
  });
  afterAll(() => h?.cleanup());

  test("migrations run, the CLI lists the agents, and the agent reconnects without a token", async () => {
    const oldServer = await h.startServer(undefined, { program: old });
    const token = await h.createToken("agent", ["--label", "site=attic"], old);
    const oldAgent = h.startAgent({
      dataDir: "agent",
      server: oldServer.endpoints.registration,
      token,
      program: [old],
    });
    const id = await h.agentIdOf("agent");
    await waitFor("the old agent online on the old server", async () => {
      const listed = await h.exec(old, ["agents", "list", "--data-dir", h.dataDir, "--json"]);
      return (JSON.parse(listed.stdout) as { id: string; state: string }[]).some(
        (agent) => agent.id === id && agent.state === "online",
      );
    });
    const before = appliedMigrations(h.dataDir);
    expect(before.length).toBeLessThan(migrations.length);
    await h.stop(oldAgent);
    await h.stop(oldServer);

    // The upgrade: the same data dirs and ports, this release's binary, no token.
    const server = await h.startServer(oldServer.endpoints);
    expect(server.fleetId).toBe(oldServer.fleetId);
    expect(appliedMigrations(h.dataDir)).toEqual(
      migrations.map((migration) => migration.tag).sort(),
    );
    const [listed] = (await h.listAgents()).filter((agent) => agent.id === id);
    expect(listed).toMatchObject({ id, labels: { site: "attic" } });
    const agent = h.startAgent({ dataDir: "agent", program: [binary] });
    const online = await h.waitForAgentState(id, "online");
    expect(online.version).toBe(
      JSON.parse((await h.runOk(["version", "-o", "json"])).stdout).version,
    );
    expect(agent.stderr()).not.toContain("joining the fleet");
    expect(agent.stderr()).toContain("INFO connected ");
  });
});

describe("an agent and a server one release apart", () => {
  let h: Harness;
  let old: string;

  beforeAll(async () => {
    old = buildAt(firstChannel);
    h = await Harness.create("version-skew");
  });
  afterAll(() => h?.cleanup());

  test("this agent joins an earlier server, comes online and applies its configuration", async () => {
    const oldServer = await h.startServer(undefined, { program: old });
    const token = await h.createToken("agent", [], old);
    const agent = h.startAgent({
      dataDir: "new-agent",
      server: oldServer.endpoints.registration,
      token,
    });
    const id = await h.agentIdOf("new-agent");
    await waitFor("this agent online and configured on the earlier server", async () => {
      const shown = await h.exec(old, [
        "agents",
        "config",
        id,
        "--data-dir",
        h.dataDir,
        "-o",
        "json",
      ]);
      return (JSON.parse(shown.stdout) as { state: string }).state === "success";
    });
    expect(agent.stderr()).not.toContain("WARN");
    await h.stop(agent);
    await h.stop(oldServer);
  });

  test("an earlier agent joins this server, comes online and applies its configuration", async () => {
    const server = await h.startServer();
    const token = await h.createToken("agent");
    const agent = h.startAgent({
      dataDir: "old-agent",
      server: server.endpoints.registration,
      token,
      program: [old],
    });
    const id = await h.agentIdOf("old-agent");
    await h.waitForAgentState(id, "online");
    await waitFor("the earlier agent configured", async () => {
      const shown = await h.runOk(["agents", "config", id, "--data-dir", h.dataDir, "-o", "json"]);
      return (JSON.parse(shown.stdout) as { state: string }).state === "success";
    });
    expect(agent.stderr()).not.toContain("WARN");
  });
});
